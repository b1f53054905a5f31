"""Counting round trips to PostgreSQL, whatever sends them (the ORM, a raw psycopg pipeline, BEGIN
and COMMIT, Django's health check): the test's connection goes through a loopback relay that reads
both sides of the wire protocol. The client waits whenever everything it asked for is answered
(each simple Query and each Sync has had its ReadyForQuery): its next message starts a round trip.
A pipeline of statements, Syncs between them included, is one. (A result fetched inside a pipeline
before its end is a wait this does not see; the API's pipelines read theirs after the end.)"""

import socket
import struct
import threading
from contextlib import contextmanager

from django.db import connection

_ANSWERED_BY_READY = {b"Q", b"S"}  # each gets one ReadyForQuery ("Z") back


def _connect(host: str, port: int) -> socket.socket:
    """The server's socket: TCP, or the Unix socket in directory `host` (the embedded server's)."""
    if host.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(f"{host}/.s.PGSQL.{port}")
        return sock
    return socket.create_connection((host, port))


class Relay:
    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.round_trips = 0
        self.sent: list[bytes] = []  # the first message of each round trip, to say what it was
        self._waiting_for = 0  # Queries and Syncs not answered yet
        self._busy = False  # a round trip is under way: sent, and not all answered
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = _connect(*self.target)
            threading.Thread(target=self._relay, args=(client, server, self._from_client, True), daemon=True).start()
            threading.Thread(target=self._relay, args=(server, client, self._from_server, False), daemon=True).start()

    def _relay(self, source, sink, see, startup: bool):
        """Forward everything, each whole message shown to `see` before it goes on. The client's
        first message (the startup packet) has no type byte."""
        buffer = b""
        with source, sink:
            while data := self._recv(source):
                buffer += data
                while True:
                    head = 0 if startup else 1
                    if len(buffer) < head + 4:
                        break
                    length = struct.unpack("!I", buffer[head : head + 4])[0]
                    if len(buffer) < head + length:
                        break
                    message, buffer = buffer[: head + length], buffer[head + length :]
                    if not startup:
                        see(message)
                    startup = False
                sink.sendall(data)

    def _from_client(self, message: bytes):
        with self._lock:
            if not self._busy and message[:1] != b"X":  # X: the connection's end
                self.round_trips += 1
                self.sent.append(message[:200])
                self._busy = True
            if message[:1] in _ANSWERED_BY_READY:
                self._waiting_for += 1

    def _from_server(self, message: bytes):
        if message[:1] == b"Z":
            with self._lock:
                self._waiting_for -= 1
                self._busy = self._waiting_for > 0

    @staticmethod
    def _recv(sock) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def close(self):
        self.listener.close()


@contextmanager
def counted_connection():
    """Inside the block, Django's connection (a new one, without TLS, so the relay can read it) runs
    through a Relay; yields the relay. Outside any transaction only (a transactional test): the
    connection is replaced."""
    settings = connection.settings_dict
    saved = settings["HOST"], settings["PORT"], settings.get("OPTIONS", {})
    host, port = settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)
    relay = Relay(host, port)
    connection.close()
    settings["HOST"], settings["PORT"] = "127.0.0.1", str(relay.port)
    settings["OPTIONS"] = {**saved[2], "sslmode": "disable"}
    try:
        connection.ensure_connection()
        with relay._lock:
            relay._waiting_for, relay._busy = 0, False  # the startup's ReadyForQuery answered no Query
        yield relay
    finally:
        connection.close()
        settings["HOST"], settings["PORT"], settings["OPTIONS"] = saved
        relay.close()


@contextmanager
def request_round_trips(relay: Relay):
    """The round trips of what runs inside the block, counted as a server counts a request's: on a
    persistent connection Django health-checks it at the first query (request_started, which the
    test client does not send, asks for that)."""
    connection.health_check_done = False
    counted = {}
    start = relay.round_trips
    yield counted
    counted["round_trips"] = relay.round_trips - start
    counted["sent"] = relay.sent[start:]
