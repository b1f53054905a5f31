"""A notification digest's e-mail is a row of invoicing's one outbox table (issue 12: one e-mail
table). The digest row keeps who, which organization and which day; recipient, subject, body,
Message-ID, status, attempts and lease live on the e-mail row, which the frozen guard lets the
sender write until the message is fixed at its first attempt (`guard_state` "unfixed"), then only
the delivery progress, and nothing once sent (then it is sealed as a delivery-log record)."""

from datetime import timedelta

import pytest

from accounts.ledger_verify import verify_organization
from accounts.models import SealRecord
from invoicing.models_documents import EmailDelivery
from ledger_site.tenancy import tenant_context
from reminders import digests
from reminders.models_collections import NotificationDigest
from tests.reminders.helpers import guard_state, refused
from tests.reminders.test_digests import MORNING, subscribed_org, tell
from tests.smtp import SmtpServer, free_port, use_smtp

pytestmark = pytest.mark.django_db


def test_the_digest_points_at_its_email_in_the_one_outbox_table(settings):
    org, owner = subscribed_org()
    tell(org, owner, "Dispute on INV-1")
    use_smtp(settings, free_port())  # nobody listens: the first attempt fails and is retried
    with tenant_context(org):
        assert digests.queue(org, MORNING) == 1
        digest = NotificationDigest.objects.get()
        email = EmailDelivery.objects.get(pk=digest.email_id)
        assert (email.kind, email.status, email.message_id, email.next_attempt_at) == ("digest", "pending", "",
                                                                                       MORNING)
        assert guard_state(email.pk) == "unfixed"
        assert digests.deliver(org.pk, MORNING).retrying == 1
        email.refresh_from_db()
    assert email.recipients == [owner.email] and "1 notification" in email.subject
    assert email.message_id == f"<notification-digest-{digest.pk}.{org.pk}@{digests.mail_domain()}>"
    assert email.attempts == 1 and email.last_error.startswith("ConnectionRefusedError")
    assert "retrying at" in email.result


def test_the_message_is_fixed_at_the_first_attempt_and_frozen_for_good_once_sent(settings):
    org, owner = subscribed_org()
    tell(org, owner, "Promise broken by Acme")
    port = free_port()
    use_smtp(settings, port)
    with tenant_context(org):
        digests.queue(org, MORNING)
        email_id = NotificationDigest.objects.get().email_id
        emails = EmailDelivery.objects.filter(pk=email_id)
        digests.deliver(org.pk, MORNING)  # refused: pending again, the message fixed
        assert guard_state(email_id) == "pending"
        refused(lambda: emails.update(subject="Another subject on the retry"))
        refused(lambda: emails.update(recipients=["thief@example.com"]))
        refused(lambda: emails.update(message_id=""))  # a fixed message cannot be unfixed again
        retry_at = emails.get().next_attempt_at
    server = SmtpServer(port=port).start()
    try:
        with tenant_context(org):
            assert digests.deliver(org.pk, retry_at + timedelta(minutes=1)).sent == 1
    finally:
        server.stop()
    with tenant_context(org):
        email = emails.get()
        assert server.messages[0]["Message-ID"] == email.message_id
        assert SealRecord.objects.filter(organization=org, kind="delivery", object_id=email_id).exists()
        for change in ({"body": "changed"}, {"status": "pending"}, {"result": "x"}, {"attempts": 9}):
            refused(lambda change=change: emails.update(**change))
        assert verify_organization(org).problems == []


def test_a_document_email_is_never_unfixed():
    """Only a scheduled kind's row is created unfixed: a report e-mail is frozen from the start
    except its delivery progress (tests/ledger/test_seal_kinds_sent.py pins that for statements),
    and cannot be turned into a scheduled kind."""
    org, owner = subscribed_org()
    with tenant_context(org):
        queued = EmailDelivery.objects.create(organization=org, kind="report", recipients=[owner.email],
                                              subject="Aging report", body="Attached.")
        rows = EmailDelivery.objects.filter(pk=queued.pk)
        rows.update(status="sending", attempts=1)
        assert guard_state(queued.pk) == "sending"
        refused(lambda: rows.update(subject="Something else"))
        refused(lambda: rows.update(kind="digest"))
        refused(lambda: rows.update(kind="digest", subject="Something else"))
