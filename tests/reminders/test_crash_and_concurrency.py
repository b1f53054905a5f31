"""Two scanners and two senders at once, a mail server that fails, a worker killed mid-way."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection

from ledger_site.tenancy import tenant_context
from reminders import outbox
from reminders.models import OutboxStatus, ReminderMessage
from reminders.outbox import BACKOFF, MAX_ATTEMPTS, claim, deliver
from reminders.scheduler import scan
from tests.concurrency import run_at_once
from tests.reminders.helpers import TODAY, at, invoice_due, killed_after_the_servers_accept, org_with_customer

NO_QUEUE = lambda *args: None  # noqa: E731 - tests deliver by hand


class FailingBackend(EmailBackend):
    """A mail server that is down."""

    def send_messages(self, messages):
        raise smtplib.SMTPConnectError(421, "mail server unavailable")


def _rows(org, **filters):
    with tenant_context(org):
        return list(ReminderMessage.objects.filter(**filters).order_by("pk"))


@pytest.mark.django_db(transaction=True)
def test_two_scans_and_two_senders_running_at_once_send_nothing_twice():
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoices = [invoice_due(org, customer, due) for _ in range(40)]
    now = at(due + timedelta(days=7))
    results = run_at_once(4, lambda _: scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE))
    assert sum(r.queued for r in results) == 40, "each invoice's step written by exactly one scanner"
    rows = _rows(org, status=OutboxStatus.PENDING)
    assert sorted(r.invoice_id for r in rows) == sorted(i.pk for i in invoices)
    assert {r.offset_days for r in rows} == {7}
    run_at_once(3, lambda _: deliver(org.pk, now=now))
    assert len(mail.outbox) == 40
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 40
    assert {m.to[0] for m in mail.outbox} == {customer.email_list[0]}
    assert len(_rows(org, status=OutboxStatus.SENT)) == 40
    with tenant_context(org):
        from invoicing.models import InvoiceEvent

        assert InvoiceEvent.objects.filter(kind="reminder").count() == 40


@pytest.mark.django_db
def test_a_mail_server_that_is_down_is_retried_with_backoff_and_the_error_is_visible(settings):
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoice = invoice_due(org, customer, due)
    now = at(due)
    scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE)
    settings.EMAIL_BACKEND = "tests.reminders.test_crash_and_concurrency.FailingBackend"
    report = deliver(org.pk, now=now)
    assert report.retrying == 1 and report.sent == 0
    (row,) = _rows(org, invoice=invoice, offset_days=0)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == now + BACKOFF[0]
    assert "SMTPConnectError" in row.last_error and "Attempt 1 failed; retrying" in row.result
    assert deliver(org.pk, now=now + BACKOFF[0] - timedelta(seconds=1)).retrying == 0, "not before the backoff"
    deliver(org.pk, now=now + BACKOFF[0])
    (row,) = _rows(org, invoice=invoice, offset_days=0)
    assert row.attempts == 2 and row.next_attempt_at == now + BACKOFF[0] + BACKOFF[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = now + timedelta(hours=1)
    assert deliver(org.pk, now=later).sent == 1
    (row,) = _rows(org, invoice=invoice, offset_days=0)
    assert row.status == OutboxStatus.SENT and row.attempts == 3 and len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == row.message_id


@pytest.mark.django_db
def test_after_the_last_attempt_a_message_is_failed_and_shown_as_such(settings):
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoice_due(org, customer, due)
    now = at(due)
    scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE)
    settings.EMAIL_BACKEND = "tests.reminders.test_crash_and_concurrency.FailingBackend"
    clock = now
    for _ in range(MAX_ATTEMPTS):
        deliver(org.pk, now=clock)
        clock += timedelta(days=1)
    (row,) = _rows(org, offset_days=0)
    assert row.status == OutboxStatus.FAILED and row.attempts == MAX_ATTEMPTS
    assert "Gave up" in row.result


@pytest.mark.django_db
def test_a_worker_killed_between_writing_the_row_and_sending_sends_exactly_once_after_restart():
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoice = invoice_due(org, customer, due)
    now = at(due)
    queued = []
    scan(now=now, org_ids=[org.pk], enqueue=lambda org_id, n: queued.append(org_id))
    # The process dies here: the row is committed, the on-commit enqueue never ran.
    assert queued == [] and mail.outbox == []
    (row,) = _rows(org, invoice=invoice, offset_days=0)
    assert row.status == OutboxStatus.PENDING
    # Restart: the next scan finds nothing new to write but sees the claimable row and queues delivery.
    result = scan(now=now + timedelta(minutes=15), org_ids=[org.pk], enqueue=NO_QUEUE)
    assert result.queued == 0 and result.orgs[0].redeliver
    assert deliver(org.pk, now=now + timedelta(minutes=15)).sent == 1
    assert deliver(org.pk, now=now + timedelta(minutes=30)).sent == 0
    assert len(mail.outbox) == 1


def expire_leases(org):
    """What LEASE seconds of database time do to the rows a dead sender claimed."""
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute("UPDATE reminders_remindermessage SET lease_until = clock_timestamp() - interval '1 second'"
                       " WHERE status = 'sending'")


@pytest.mark.django_db
def test_a_worker_killed_after_claiming_is_retried_once_its_lease_runs_out():
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoice_due(org, customer, due)
    now = at(due)
    scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE)
    with tenant_context(org):
        claimed = claim(org.pk, now)  # ...and the worker dies before talking to the mail server
    assert len(claimed) == 1
    # Leases are in database time: a worker whose clock runs far ahead cannot take the row early.
    assert deliver(org.pk, now=now + timedelta(hours=1)).sent == 0, "still leased to the dead worker"
    assert mail.outbox == []
    expire_leases(org)  # LEASE has passed on the database's clock
    assert deliver(org.pk, now=now).sent == 1
    expire_leases(org)
    assert deliver(org.pk, now=now).sent == 0
    assert len(mail.outbox) == 1
    (row,) = _rows(org, offset_days=0)
    assert row.attempts == 2 and row.status == OutboxStatus.SENT


@pytest.mark.django_db
def test_a_crash_after_the_server_accepted_resends_the_same_message_id():
    """The at-least-once window, stated in reminders/outbox.py: the server said 250, we died before
    COMMIT. The message goes again after the lease, with the same Message-ID, subject and body."""
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoice_due(org, customer, due)
    now = at(due)
    scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE)
    killed_after_the_servers_accept(outbox, org, now)
    expire_leases(org)
    assert deliver(org.pk, now=now).sent == 1
    assert len(mail.outbox) == 2
    first, second = mail.outbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert (first.subject, first.body) == (second.subject, second.body)
