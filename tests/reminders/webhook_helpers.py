"""A real HTTP receiver for webhook tests (http.server in a thread), and the signature check a
customer would write."""

import hashlib
import hmac
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Listens on 127.0.0.1 on a free port; answers every POST with `status` and records it."""

    def __init__(self, status: int = 200, headers: dict | None = None):
        self.status, self.extra_headers = status, headers or {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                              "body": body})
                self.send_response(receiver.status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/ledgerline"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def received(self) -> list[dict]:
        with self.lock:
            return list(self.requests)


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does: recompute the HMAC over "<t>.<raw body>", compare in constant time,
    and refuse old timestamps (replays)."""
    pairs = [part.split("=", 1) for part in header.split(",")]
    timestamp = int(dict(pairs)["t"])
    expected = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    # After a secret rotation two v1 values come for a while: any one may match.
    matches = any(hmac.compare_digest(expected, value) for name, value in pairs if name == "v1")
    return matches and abs(time.time() - timestamp) <= tolerance
