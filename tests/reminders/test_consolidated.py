"""One reminder e-mail per customer a day (issue 19 item 4): reminders/batches.py and the scan's
batch_new_rows, on the one outbox engine (ledger_site/outbox.py). Real SMTP (aiosmtpd), real
WeasyPrint (the statement is read back with pdftotext)."""

from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from ledger_site.tenancy import tenant_context
from reminders import batches, outbox
from reminders.models import (
    FeeType,
    LateFeeCharge,
    OutboxStatus,
    ReminderBatch,
    ReminderMessage,
    ReminderPolicy,
    ReminderStep,
    Tone,
)
from reminders.outbox import deliver
from reminders.scheduler import scan
from tests.db_roles import owner_conninfo
from tests.documents_helpers import pdf_pages_text
from tests.factories import add_member
from tests.reminders.helpers import TODAY, at, invoice_due, killed_after_the_servers_accept, org_with_customer
from tests.smtp import smtp_server_fixture

pytestmark = pytest.mark.django_db
smtp_server = pytest.fixture(smtp_server_fixture)
NO_QUEUE = lambda *args: None  # noqa: E731 - tests deliver by hand
BASE = TODAY + timedelta(days=40)  # the scan day; every invoice is issued today, due around it
# Default policy: -3, 0 friendly; +7, +14 firm; +21 final. Due dates that put an invoice at each.
AT_STEP = {-3: BASE + timedelta(days=3), 0: BASE, 7: BASE - timedelta(days=7), 14: BASE - timedelta(days=14),
           21: BASE - timedelta(days=21)}


def consolidating(org, fee_at=None):
    with tenant_context(org):
        policy = ReminderPolicy.objects.get(organization=org, is_default=True)
        policy.one_message_per_customer = True
        policy.save()
        if fee_at is not None:
            step = ReminderStep.objects.get(policy=policy, offset_days=fee_at)
            step.fee_type, step.fee_value = FeeType.FIXED, Decimal("10")
            step.save()
    return policy


def scanned(offsets, consolidate=True, fee_at=None):
    """An organization whose customer has an invoice at each step of `offsets` on BASE, scanned then:
    (org, customer, invoices, now)."""
    org, _, customer = org_with_customer()
    if consolidate:
        consolidating(org, fee_at=fee_at)
    invoices = [invoice_due(org, customer, AT_STEP[o]) for o in offsets]
    now = at(BASE)
    scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE)
    return org, customer, invoices, now


def twelve_invoices(org, customer):
    offsets = [-3, 0, 7, 14, 21, 7, 0, 14, -3, 7, 21, 0]
    return [(invoice_due(org, customer, AT_STEP[o]), o) for o in offsets]


def rows(org, **filters):
    with tenant_context(org):
        return list(ReminderMessage.objects.filter(**filters).order_by("pk"))


def expire_leases(org, table="invoicing_emaildelivery"):
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET lease_until = clock_timestamp() - interval '1 second'"  # noqa: S608
                       " WHERE status = 'sending'")


def test_twelve_invoices_at_steps_on_one_day_make_one_email_through_smtp_and_a_second_scan_sends_nothing(
        smtp_server, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    org, _, customer = org_with_customer()
    consolidating(org, fee_at=7)
    invoices = twelve_invoices(org, customer)
    now = at(BASE)
    result = scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE)
    assert result.queued == 12 and result.orgs[0].batched == 12
    report = deliver(org.pk, now=now)
    assert report.sent == 1
    smtp_server.wait_for(1)
    (message,) = smtp_server.messages
    body = message.get_body(("plain",)).get_content()
    assert message["To"] == customer.email_list[0]
    assert "12 invoices" in message["Subject"] and message["Subject"].startswith("Final reminder")  # the firmest
    assert all(invoice.number in body for invoice, _ in invoices)
    assert body.count("\n- ") == 12
    # Honest wording: each line says what is true on the day it goes out.
    assert "was due on" in body and "is due today" in body and "is due on" in body
    assert "http://testserver/p/" in body and "/account/" in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    statement = "\n".join(pdf_pages_text(attachment.get_content()))
    assert customer.name in statement and all(invoice.number in statement for invoice, _ in invoices)
    # The per-invoice history: each invoice's step is recorded as sent, linked to the one e-mail.
    sent = rows(org, status=OutboxStatus.SENT)
    assert len(sent) == 12 and len({r.batch_id for r in sent}) == 1
    assert {r.message_id for r in sent} == {message["Message-ID"]}
    assert sorted(r.offset_days for r in sent) == sorted(o for _, o in invoices)
    with tenant_context(org):
        (batch,) = ReminderBatch.objects.all()
        assert batch.status == OutboxStatus.SENT and batch.tone == Tone.FINAL and batch.day == BASE
        # Late fees per step as before: the three invoices at +7 are charged, once each.
        assert LateFeeCharge.objects.filter(offset_days=7).count() == 3 and LateFeeCharge.objects.count() == 3
        from invoicing.models import InvoiceEvent

        assert InvoiceEvent.objects.filter(kind="reminder").count() == 12
    assert body.count("a late fee of") == 3
    # Scanning again (the same day, later) writes and sends nothing more.
    for later in (now + timedelta(minutes=15), now + timedelta(hours=3)):
        again = scan(now=later, org_ids=[org.pk], enqueue=NO_QUEUE)
        assert again.queued == 0
        assert deliver(org.pk, now=later).sent == 0
    assert len(smtp_server.messages) == 1


def test_a_policy_without_the_option_still_sends_one_email_per_invoice():
    org, _, _, now = scanned((0, 7, 21), consolidate=False)
    assert deliver(org.pk, now=now).sent == 3
    assert len(mail.outbox) == 3
    with tenant_context(org):
        assert not ReminderBatch.objects.exists()


def test_each_customer_gets_their_own_email_listing_only_their_invoices():
    org, _, customer = org_with_customer()
    consolidating(org)
    with tenant_context(org):
        from tests.factories import CustomerFactory

        other = CustomerFactory(organization=org)
    mine = [invoice_due(org, customer, AT_STEP[o]) for o in (0, 7)]
    theirs = [invoice_due(org, other, AT_STEP[o]) for o in (14, 21)]
    now = at(BASE)
    scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE)
    assert deliver(org.pk, now=now).sent == 2
    by_to = {m.to[0]: m.body for m in mail.outbox}
    assert set(by_to) == {customer.email_list[0], other.email_list[0]}
    assert all(i.number in by_to[customer.email_list[0]] for i in mine)
    assert not any(i.number in by_to[customer.email_list[0]] for i in theirs)
    assert all(i.number in by_to[other.email_list[0]] for i in theirs)


def test_a_paid_invoice_drops_out_of_the_email_and_is_cancelled():
    org, _, (first, second), now = scanned((7, 14))
    with tenant_context(org):
        from invoicing.services import void_invoice

        void_invoice(first, reason="issued by mistake")
    assert deliver(org.pk, now=now).sent == 1
    (message,) = mail.outbox
    assert second.number in message.body and first.number not in message.body
    assert "1 invoice from" in message.subject and "The invoice below" in message.body
    (cancelled,) = rows(org, invoice=first, offset_days=7)
    assert cancelled.status == OutboxStatus.CANCELLED and "Not sent" in cancelled.result
    assert rows(org, invoice=second, offset_days=14)[0].status == OutboxStatus.SENT


def test_a_crash_between_the_servers_accept_and_marking_sent_resends_once_with_the_same_message_id(
        smtp_server):
    org, _, _, now = scanned((0, 7, 21), fee_at=7)
    killed_after_the_servers_accept(batches, org, now)
    smtp_server.wait_for(1)
    assert deliver(org.pk, now=now).sent == 0, "still leased to the dead sender (database time)"
    expire_leases(org)
    assert deliver(org.pk, now=now).sent == 1
    expire_leases(org)
    assert deliver(org.pk, now=now + timedelta(hours=1)).sent == 0
    smtp_server.wait_for(2)
    first, second = smtp_server.messages
    assert len(smtp_server.messages) == 2, "resent at most once"
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Subject"] == second["Subject"]
    assert first.get_body(("plain",)).get_content() == second.get_body(("plain",)).get_content()
    sent = rows(org, status=OutboxStatus.SENT)
    assert len(sent) == 3 and {r.message_id for r in sent} == {first["Message-ID"]}
    with tenant_context(org):
        assert LateFeeCharge.objects.count() == 1, "the fee goes with the one marking, once"


def test_a_failing_server_retries_the_email_with_backoff_and_then_gives_up_for_every_row(settings):
    org, _, _, now = scanned((0, 7))
    settings.EMAIL_BACKEND = "tests.reminders.test_crash_and_concurrency.FailingBackend"
    assert deliver(org.pk, now=now).retrying == 1
    with tenant_context(org):
        batch = ReminderBatch.objects.get()
    assert batch.status == OutboxStatus.PENDING and batch.next_attempt_at == now + outbox.BACKOFF[0]
    clock = now
    for _ in range(outbox.MAX_ATTEMPTS):
        clock += timedelta(days=1)
        deliver(org.pk, now=clock)
    with tenant_context(org):
        batch.refresh_from_db()
    assert batch.status == OutboxStatus.FAILED and batch.attempts == outbox.MAX_ATTEMPTS
    assert {r.status for r in rows(org, batch=batch)} == {OutboxStatus.FAILED}
    assert len(rows(org, batch=batch)) == 2


def test_a_failed_row_of_a_consolidated_email_retried_by_hand_goes_on_its_own(settings,
                                                                             django_capture_on_commit_callbacks):
    org, _, _, now = scanned((0, 7))
    settings.EMAIL_BACKEND = "tests.reminders.test_crash_and_concurrency.FailingBackend"
    clock = now
    for _ in range(outbox.MAX_ATTEMPTS):
        deliver(org.pk, now=clock)
        clock += timedelta(days=1)
    failed = rows(org, status=OutboxStatus.FAILED)
    assert len(failed) == 2 and all(r.batch_id for r in failed)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = Client()
    client.force_login(add_member(org, Role.FINANCE))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reminder_retry", kwargs={"org_slug": org.slug, "pk": failed[0].pk}))
    (message,) = mail.outbox
    with tenant_context(org):
        retried = ReminderMessage.objects.select_related("invoice").get(pk=failed[0].pk)
    assert retried.status == OutboxStatus.SENT and retried.batch_id is None
    assert retried.invoice.number in message.subject and rows(org, pk=failed[1].pk)[0].status == OutboxStatus.FAILED


def test_a_row_of_a_batch_is_never_sent_on_its_own():
    """The per-invoice sender claims only rows without a batch (the engine's `where`)."""
    org, customer, _, now = scanned((7,))
    with tenant_context(org):
        assert outbox.claim(org.pk, now) == []
        assert len(batches.claim(org.pk, now)) == 1


def test_a_step_reached_after_the_days_email_was_claimed_waits_for_the_next_days_email():
    """The scan joins a batch only while it is pending (under its row lock): never one a sender has
    claimed and rendered, whose marking would record a row the e-mail did not list."""
    org, customer, _, now = scanned((7,))
    with tenant_context(org):
        (claimed,) = batches.claim(org.pk, now)  # a sender has it
    late = invoice_due(org, customer, AT_STEP[14])  # ...and another invoice reaches a step today
    assert scan(now=now + timedelta(minutes=15), org_ids=[org.pk], enqueue=NO_QUEUE).orgs[0].batched == 1
    (row,) = rows(org, invoice=late, status=OutboxStatus.PENDING)
    with tenant_context(org):
        assert row.batch_id != claimed[0]
        assert row.batch.day == BASE + timedelta(days=1) and row.batch.status == OutboxStatus.PENDING
    expire_leases(org)
    assert deliver(org.pk, now=now + timedelta(minutes=20)).sent == 1, "today's e-mail, without the late one"
    assert late.number not in mail.outbox[0].body
    assert deliver(org.pk, now=now + timedelta(hours=1)).sent == 0, "at most one e-mail a day"
    assert deliver(org.pk, now=now + timedelta(days=1)).sent == 1
    assert late.number in mail.outbox[1].body


@pytest.mark.django_db(transaction=True)
def test_a_claim_passes_over_a_batch_locked_by_a_scan_instead_of_waiting_for_it():
    """SKIP LOCKED in the engine's claim: while a scan holds a batch's row lock (it is still adding
    rows), a sender claims around it at once; without SKIP LOCKED it would wait (here: time out)."""
    org, customer, _, now = scanned((7,))
    with tenant_context(org):
        email_id = ReminderBatch.objects.get().email_id
    with psycopg.connect(owner_conninfo()) as other:
        other.execute("SELECT id FROM invoicing_emaildelivery WHERE id = %s FOR UPDATE", [email_id])
        with tenant_context(org), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '3s'")
            assert batches.claim(org.pk, now) == []
        other.rollback()
    with tenant_context(org):
        assert len(batches.claim(org.pk, now)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_scan_adding_to_the_days_email_holds_it_so_no_sender_claims_it_half_filled():
    """The scan's FOR UPDATE on the day's batch: until the scan commits the rows it adds, a sender
    (SKIP LOCKED) passes the batch over. Without the lock a sender could claim and render the e-mail
    first, and the row the scan adds would never be listed nor sent."""
    org, customer, _, now = scanned((7,))
    late = invoice_due(org, customer, AT_STEP[14])
    pending = "SELECT id FROM invoicing_emaildelivery WHERE kind = 'reminder_batch' AND status = 'pending'"
    claim_sql = (f"UPDATE invoicing_emaildelivery SET status = 'sending' WHERE id IN ({pending} "  # noqa: S608
                 "FOR UPDATE SKIP LOCKED) RETURNING id")
    with psycopg.connect(owner_conninfo(), autocommit=True) as other:
        with transaction.atomic():  # the scan's transaction, not committed yet
            assert scan(now=now + timedelta(minutes=15), org_ids=[org.pk], enqueue=NO_QUEUE).orgs[0].batched == 1
            assert other.execute(claim_sql).fetchall() == [], "the batch is held by the scan"
        assert len(other.execute(pending).fetchall()) == 1
    (row,) = rows(org, invoice=late, status=OutboxStatus.PENDING)
    with tenant_context(org):
        assert row.batch.day == BASE, "joined today's e-mail, which was still pending"
    assert deliver(org.pk, now=now + timedelta(minutes=20)).sent == 1
    assert late.number in mail.outbox[0].body
    assert len(rows(org, status=OutboxStatus.SENT)) == 2
