"""A consolidated reminder's e-mail is a row of invoicing's one outbox table (issue 12: one e-mail
table, kind "reminder_batch"). The batch row keeps customer, day and tone; recipients, subject, body,
Message-ID, status, attempts and lease live on the e-mail row, which the sender may write again until
it is sent (the list is what is still due when it goes out). The batch is frozen by its e-mail's state
and sealed when that row turns sent."""

from datetime import timedelta

import pytest
from django.core import mail

from accounts.ledger_verify import verify_organization
from accounts.models import SealRecord
from invoicing import outgoing
from invoicing.models_documents import EmailDelivery
from invoicing.services import void_invoice
from ledger_site.tenancy import tenant_context
from reminders import scheduler
from reminders.models import ReminderBatch, Tone
from reminders.outbox import deliver
from reminders.scheduler import scan
from tests.reminders.helpers import at, guard_state, invoice_due, org_with_customer, refused
from tests.reminders.test_batch_page import page, sent_batches
from tests.reminders.test_consolidated import AT_STEP, BASE, NO_QUEUE, consolidating, scanned

pytestmark = pytest.mark.django_db


def test_the_batch_points_at_its_email_in_the_one_outbox_table():
    org, customer, invoices, now = scanned((0, 7))
    with tenant_context(org):
        batch = ReminderBatch.objects.get()
        email = EmailDelivery.objects.get(pk=batch.email_id)
        assert (email.kind, email.status, email.customer_id, email.next_attempt_at) == (
            "reminder_batch", "pending", customer.pk, now)
        assert guard_state(email.pk) == "unfixed"
        assert sorted(batch.messages.values_list("invoice_id", flat=True)) == sorted(i.pk for i in invoices)
    assert deliver(org.pk, now=now).sent == 1
    with tenant_context(org):
        email.refresh_from_db()
        batch.refresh_from_db()
    (message,) = mail.outbox
    assert email.recipients == message.to and email.subject == message.subject and email.body == message.body
    assert email.message_id == message.extra_headers["Message-ID"] == batch.message_id
    assert (email.status, batch.status, batch.tone, email.attempts) == ("sent", "sent", Tone.FIRM, 1)


def test_a_retry_after_an_invoice_dropped_out_writes_the_email_again_with_a_new_message_id(settings):
    """Unlike a digest, a consolidated reminder is not fixed at its first attempt: its outbox row stays
    writable (`guard_state` "unfixed") while pending, so the retry lists only what is still due."""
    org, _, (first, second), now = scanned((7, 14))
    settings.EMAIL_BACKEND = "tests.reminders.test_crash_and_concurrency.FailingBackend"
    assert deliver(org.pk, now=now).retrying == 1
    with tenant_context(org):
        batch = ReminderBatch.objects.get()
        before = (batch.message_id, batch.subject)
        assert guard_state(batch.email_id) == "unfixed" and "2 invoices" in before[1]
        void_invoice(first, reason="issued by mistake")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliver(org.pk, now=now + timedelta(days=1)).sent == 1
    with tenant_context(org):
        batch.refresh_from_db()
    (message,) = mail.outbox
    assert first.number not in message.body and second.number in message.body
    assert "1 invoice" in batch.subject and batch.message_id != before[0]
    assert batch.message_id == message.extra_headers["Message-ID"] and batch.message_id.startswith(
        f"<reminder-batch-{batch.pk}.2.")


def test_the_batch_is_frozen_by_its_emails_state_and_sealed_when_it_is_sent():
    org, _, _, now = scanned((0, 7))
    with tenant_context(org):
        batch = ReminderBatch.objects.get()
        ReminderBatch.objects.filter(pk=batch.pk).update(tone=Tone.FINAL)  # waiting: still open
        assert not SealRecord.objects.filter(organization=org, kind="reminder_batch").exists()
    assert deliver(org.pk, now=now).sent == 1
    with tenant_context(org):
        seal = SealRecord.objects.get(organization=org, kind="reminder_batch", object_id=batch.pk)
        assert seal.label == f"reminder e-mail #{batch.pk} of {batch.day.isoformat()}"
        assert SealRecord.objects.filter(organization=org, kind="delivery", object_id=batch.email_id).exists()
        refused(lambda: ReminderBatch.objects.filter(pk=batch.pk).update(tone=Tone.FRIENDLY))
        refused(lambda: EmailDelivery.objects.filter(pk=batch.email_id).update(subject="Pay now"))
        assert verify_organization(org).problems == []


def test_an_email_written_for_a_customer_whose_days_email_another_scan_wrote_first_is_cancelled(monkeypatch):
    """Two scans at once may both write an outbox row for a customer's e-mail of the day; the batch's
    unique key keeps one, the rows join it, and the other outbox row is cancelled (left pending, a
    sender would claim an e-mail that has no batch)."""
    org, _, customer = org_with_customer()
    consolidating(org)
    invoice_due(org, customer, AT_STEP[7])
    real, theirs = outgoing.queue_scheduled_each, {}

    def racing(org_id, kind, customer_ids, *, due_at, max_attempts):
        ours = real(org_id, kind, customer_ids, due_at=due_at, max_attempts=max_attempts)
        # Meanwhile the other scan writes the customer's e-mail of the day (here in the same transaction).
        for customer_id, email_id in real(org_id, kind, customer_ids, due_at=due_at, max_attempts=max_attempts).items():
            theirs[customer_id] = ReminderBatch.objects.create(organization_id=org_id, customer_id=customer_id,
                                                               day=BASE, email_id=email_id)
        return ours

    monkeypatch.setattr(scheduler.outgoing, "queue_scheduled_each", racing)
    now = at(BASE)
    assert scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE).orgs[0].batched == 1
    with tenant_context(org):
        (batch,) = ReminderBatch.objects.all()
        assert batch.pk == theirs[customer.pk].pk and batch.messages.count() == 1
        (unused,) = EmailDelivery.objects.filter(kind="reminder_batch").exclude(pk=batch.email_id)
        assert unused.status == "cancelled" and "another scan" in unused.result
    assert deliver(org.pk, now=now).sent == 1


def test_the_emails_page_finds_an_email_by_an_address_it_went_to():
    """The page searches the recipients where they now live: the outbox row's JSON list."""
    org, [(customer, _), (other, _)] = sent_batches([(0, 7), (14,)])
    address = customer.email_list[0]
    found = page(org, q=address[2:]).content.decode()
    assert customer.name in found and other.name not in found
    assert "No e-mails match" in page(org, q="nobody@nowhere.example").content.decode()
