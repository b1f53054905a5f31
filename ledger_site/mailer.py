"""The one way an e-mail reaches the mail server (issue 12 item 3: one send path).

Every message the product sends is built by `compose` and handed over by `hand_over` (or
`send_now`, both at once); no other module imports `django.core.mail`
(tests/test_one_send_path.py reads every import). The outboxes (ledger_site/outbox.py's engine:
reminders, consolidated reminders, digests, document e-mails) hand over a claimed row's message
with `send_claimed`, the one shape of "prepare under lock, send outside any transaction, then
mark sent or retry": one retry loop for every kind of message.

What the outboxes do not carry (an owner's notice, an invitation, a reply-address check) is sent
at once with `send_now`: the request or task that wants it waits for the server's answer.
"""

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid

log = logging.getLogger("ledger_site.mailer")


def from_address() -> str:
    """The service's sending address (it must be ours for delivery)."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@localhost"


def sender(name: str) -> str:
    """From: an organization's name on the service's sending address (the name is whom the reader knows)."""
    return formataddr((name, from_address()))


def mail_domain() -> str:
    """The domain of our Message-IDs."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "ledgerline.local"


def new_message_id() -> str:
    """A fresh Message-ID on our sending address's domain."""
    return make_msgid(domain=from_address().rpartition("@")[2] or None)


def compose(*, subject: str, body: str, to: list[str], from_email: str | None = None, reply_to=(),
            headers: dict | None = None, attachments=(), html: str = "") -> EmailMessage:
    """A message; `attachments` are (filename, content, mimetype) triples. With `html`, the body is
    multipart/alternative: `body` as text/plain, then `html` as text/html (readers show the last they can)."""
    kind = EmailMultiAlternatives if html else EmailMessage
    message = kind(subject=subject, body=body, from_email=from_email or settings.DEFAULT_FROM_EMAIL,
                   to=list(to), reply_to=list(reply_to), headers=dict(headers or {}))
    if html:
        message.attach_alternative(html, "text/html")
    for attachment in attachments:
        message.attach(*attachment)
    return message


def open_connection(timeout: float | None = None):
    """A connection to the mail server that raises on failure (never silent)."""
    if timeout is None:
        return get_connection(fail_silently=False)
    return get_connection(fail_silently=False, timeout=timeout)


def close_quietly(conn) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail; nothing to do then
        conn.close()


def hand_over(message: EmailMessage, connection=None) -> int:
    """Send `message` (on `connection`, else a fresh one); raises when the server refuses it."""
    message.connection = connection or open_connection()
    sent = message.send(fail_silently=False)
    if not sent:
        raise RuntimeError("the e-mail backend accepted no message")
    return sent


def send_now(*, subject: str, body: str, to: list[str], from_email: str | None = None, attachments=()) -> int:
    """Compose and send at once (no outbox row): the number of messages sent, 0 or 1."""
    if not to:
        return 0
    return hand_over(compose(subject=subject, body=body, to=to, from_email=from_email, attachments=attachments))


def send_claimed(row_id: int, token: str, now: datetime, *, prepare: Callable, retry_later: Callable,
                 mark_sent: Callable, connection=None, what: str = "e-mail") -> str:
    """The one sending loop of every outbox row claimed on the engine (ledger_site.outbox):

    1. `prepare(row_id, token, now)` under the row's lock: re-check, render once (a retry carries the
       same message), return (row, message), or None when nothing is to be sent (it recorded why);
    2. hand the message to the server outside any transaction;
    3. `mark_sent(row_id, token, now)` (true if the claim was still ours), or after a failure
       `retry_later(row_id, token, now, error)`, which returns the row's new state.

    The outcome: "skipped" (prepare said no), "sent", "lost" (sent, but our claim was taken over:
    that sender records it), the state `retry_later` returned, or "retry-lost" (failed, and our
    claim was taken over meanwhile)."""
    prepared = prepare(row_id, token, now)
    if prepared is None:
        return "skipped"
    row, message = prepared
    try:
        hand_over(message, connection)
    except Exception as e:  # noqa: BLE001 - any failure to hand over the message is retried or recorded
        close_quietly(message.connection)  # a shared connection: the next message opens a new one
        log.warning("%s %s: sending failed (attempt %s): %s", what, row_id, getattr(row, "attempts", "?"), e)
        return retry_later(row_id, token, now, e) or "retry-lost"
    return "sent" if mark_sent(row_id, token, now) else "lost"
