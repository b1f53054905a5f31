"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, on a free port, collecting messages.

    smtp_server = pytest.fixture(smtp_server_fixture)
    def test_x(smtp_server):                # the fixture also points Django's e-mail at it
        ...
        message = smtp_server.messages[0]   # email.message.EmailMessage (policy=default)

`free_port()` gives a port with nothing listening, for "the server is down" tests; a
`SmtpServer(port=...)` can later be started on that same port.
"""

import email
import email.policy
import socket
import threading
import time

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collector:
    def __init__(self):
        self.envelopes = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.handler = _Collector()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    @property
    def envelopes(self):
        with self.handler.lock:
            return list(self.handler.envelopes)

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.original_content or e.content, policy=email.policy.default)
                for e in self.envelopes]

    def wait_for(self, count: int, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while len(self.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.envelopes


def use_smtp(settings, port: int) -> None:
    """Point Django's e-mail backend at 127.0.0.1:port (what EMAIL_URL=smtp://127.0.0.1:port sets)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


def smtp_server_fixture(settings):
    """Fixture body: `smtp_server = pytest.fixture(smtp_server_fixture)` in a test module."""
    server = SmtpServer().start()
    use_smtp(settings, server.port)
    try:
        yield server
    finally:
        server.stop()
