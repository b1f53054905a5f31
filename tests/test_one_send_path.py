"""One send path and no new e-mail table (issue 12 item 3).

Every e-mail the product sends is built and handed to the mail server by ledger_site/mailer.py;
every outbox row is sent by its one loop (`send_claimed`) on the one claim-lease-backoff engine
(ledger_site/outbox.py). The first check reads the apps' code (ast, imports inside functions too;
migrations aside) and fails on any other module that imports Django's or Python's mail machinery
or calls a mail-sending name. The second lists the tables that hold an e-mail on its way out (a
subject, a body and a Message-ID) and fails when one more appears: a new kind of message is
queued through invoicing's outbox (invoicing.outgoing.queue_email), not in a table of its own.
"""

import ast
from pathlib import Path

from django.apps import apps
from django.core import mail

from ledger_site import mailer

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "invoicing", "payments", "reminders", "reports", "ledger_site")
SENDER = "ledger_site/mailer.py"
MAIL_MODULES = ("django.core.mail", "smtplib", "email.mime", "aiosmtplib")
MAIL_NAMES = {"send_mail", "send_mass_mail", "mail_admins", "mail_managers", "EmailMessage",
              "EmailMultiAlternatives", "get_connection", "send_messages", "SMTP", "SMTP_SSL"}

# The tables that hold an outgoing e-mail today. invoicing's delivery log is the outbox (documents,
# report e-mails, notification digests, consolidated reminders); the per-invoice reminder rows still
# carry their own e-mail (docs/architecture.md, "Known arrows still to straighten"): this list may
# only shrink.
EMAIL_TABLES = {
    "invoicing_emaildelivery",
    "reminders_remindermessage",
}


def _is_mail_module(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in MAIL_MODULES)


def send_paths(root: Path) -> list[str]:
    """Every place outside the one sender that imports mail machinery or names a way to send."""
    found = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if "migrations" in path.relative_to(root).parts or rel == SENDER:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    # "from django.core import mail" as well as "from django.core.mail import …"
                    found.extend(f"{rel}:{node.lineno} imports {m}" for m in
                                 {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
                                 if _is_mail_module(m) and (m == node.module or not _is_mail_module(node.module)))
                elif isinstance(node, ast.Import):
                    found.extend(f"{rel}:{node.lineno} imports {a.name}" for a in node.names if _is_mail_module(a.name))
                elif isinstance(node, ast.Attribute) and node.attr in MAIL_NAMES:
                    found.append(f"{rel}:{node.lineno} uses .{node.attr}")
                elif isinstance(node, ast.Name) and node.id in MAIL_NAMES:
                    found.append(f"{rel}:{node.lineno} uses {node.id}")
    return sorted(found)


def test_every_email_is_sent_by_the_one_sender_module():
    assert send_paths(ROOT) == []


def test_the_check_sees_a_second_send_path(tmp_path):
    for app in APPS:
        (tmp_path / app).mkdir()
    (tmp_path / "ledger_site" / "mailer.py").write_text("from django.core.mail import EmailMessage\n")  # the one
    (tmp_path / "reports" / "ok.py").write_text("from ledger_site import mailer\nmailer.send_now(subject='', "
                                                "body='', to=[])\n")
    (tmp_path / "reports" / "bad.py").write_text("def f():\n    from django.core.mail import send_mail\n"
                                                 "    send_mail('s', 'b', None, ['a@example.com'])\n")
    (tmp_path / "payments" / "smtp.py").write_text("import smtplib\n")
    (tmp_path / "accounts" / "conn.py").write_text("from django.core import mail\n"
                                                   "mail.get_connection().send_messages([])\n")
    (tmp_path / "reminders" / "migrations").mkdir()
    (tmp_path / "reminders" / "migrations" / "0001.py").write_text("from django.core.mail import send_mail\n")
    assert send_paths(tmp_path) == [
        "accounts/conn.py:1 imports django.core.mail",
        "accounts/conn.py:2 uses .get_connection",
        "accounts/conn.py:2 uses .send_messages",
        "payments/smtp.py:1 imports smtplib",
        "reports/bad.py:2 imports django.core.mail",
        "reports/bad.py:3 uses send_mail",
    ]


def email_tables() -> set[str]:
    """Tables of models that hold an e-mail's subject, body and Message-ID."""
    found = set()
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if {"subject", "body", "message_id"} <= names and model._meta.app_label in APPS:
            found.add(model._meta.db_table)
    return found


def test_no_new_table_of_outgoing_emails():
    assert email_tables() <= EMAIL_TABLES, "queue a new kind of e-mail through invoicing.outgoing.queue_email"
    assert email_tables() == EMAIL_TABLES, "a table left the list: take it out of EMAIL_TABLES too"


class _Refusing:
    """A mail connection whose server refuses every message."""

    closed = 0

    def send_messages(self, messages):
        raise ConnectionRefusedError("421 try later")

    def close(self):
        self.closed += 1


def _loop(prepared, marked=True, connection=None, now=None):
    calls = []

    def retry_later(row_id, token, when, error):
        calls.append(("retry", row_id, token, type(error).__name__))
        return "pending"

    def mark_sent(row_id, token, when):
        calls.append(("sent", row_id, token))
        return marked

    outcome = mailer.send_claimed(7, "tok", now, prepare=lambda *a: prepared, retry_later=retry_later,
                                  mark_sent=mark_sent, connection=connection)
    return outcome, calls


def test_the_sending_loop_marks_sent_only_after_the_server_took_the_message(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    message = mailer.compose(subject="s", body="b", to=["ap@buyer.example"], headers={"Message-ID": "<m@x>"})
    assert _loop((object(), message)) == ("sent", [("sent", 7, "tok")])
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == ["<m@x>"]
    assert _loop((object(), message), marked=False)[0] == "lost", "sent, but another sender holds the claim"
    assert _loop(None) == ("skipped", []), "prepare said no: nothing is sent or marked"
    assert len(mail.outbox) == 2


def test_a_refused_message_is_handed_to_the_retry_and_its_connection_closed():
    refusing = _Refusing()
    message = mailer.compose(subject="s", body="b", to=["ap@buyer.example"])
    outcome, calls = _loop((object(), message), connection=refusing)
    assert outcome == "pending" and calls == [("retry", 7, "tok", "ConnectionRefusedError")]
    assert refusing.closed == 1, "the next message opens a new connection"
