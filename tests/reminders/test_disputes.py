"""Dispute workflow (issue 19 #2): history kept, a note to resolve, the hold follows the open
disputes, reminders chase only the undisputed part, the queue and the staff pages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from reminders import disputes
from reminders.models import PromiseToPay, ReminderMessage
from reminders.models_collections import Dispute, DisputeStatus
from tests.factories import add_member
from tests.reminders.helpers import TODAY, at, invoice_due, org_with_customer, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_invoice(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    org, owner, customer = org_with_customer()
    invoice = invoice_due(org, customer, TODAY + timedelta(days=2))  # 240.00 EUR
    return org, owner, customer, invoice


def test_resolving_needs_a_note_and_keeps_the_history(due_invoice):
    org, owner, customer, invoice = due_invoice
    with tenant_context(org):
        first = disputes.raise_dispute(invoice, reason="wrong_amount", amount=Decimal("40"), actor=owner)
        second = disputes.raise_dispute(invoice, reason="quality", actor=owner)  # the whole amount
        inv = Invoice.objects.get(pk=invoice.pk)
        assert inv.disputed_amount is None and inv.is_disputed_on(TODAY)
        with pytest.raises(disputes.DisputeError, match="needs a note"):
            disputes.resolve(second, outcome="rejected", note="  ", actor=owner)
        disputes.resolve(second, outcome="rejected", note="Delivered as ordered; photo attached", actor=owner)
        inv = Invoice.objects.get(pk=invoice.pk)
        # The first (partial) dispute still holds its 40: the invoice is chased for the rest.
        assert inv.disputed_amount == Decimal("40.000") and not inv.is_disputed_on(TODAY)
        disputes.resolve(first, outcome="credit_note", note="Credit note for the 40", actor=owner)
        inv = Invoice.objects.get(pk=invoice.pk)
        assert inv.disputed_at is None and inv.disputed_amount is None
        assert Dispute.objects.filter(invoice=invoice, status=DisputeStatus.RESOLVED).count() == 2
        with pytest.raises(disputes.DisputeError, match="already resolved"):
            disputes.resolve(first, outcome="rejected", note="again", actor=owner)


def test_the_database_refuses_a_resolved_dispute_without_a_note(due_invoice):
    org, owner, customer, invoice = due_invoice
    with tenant_context(org):
        d = disputes.raise_dispute(invoice, reason="other", actor=owner)
        with pytest.raises(IntegrityError), transaction.atomic():
            Dispute.objects.filter(pk=d.pk).update(status="resolved", outcome="rejected")


def test_reminders_chase_only_the_undisputed_part(due_invoice, settings):
    org, owner, customer, invoice = due_invoice
    with tenant_context(org):
        line = invoice.lines.get()
        disputes.raise_dispute(invoice, reason="wrong_amount", amount=Decimal("90.00"), actor=owner)
        assert line.pk  # (lines or an amount: either)
    mail.outbox.clear()
    run(at(invoice.due_date + timedelta(days=7)), org)
    (message,) = [m for m in mail.outbox if invoice.number in m.subject + m.body]
    assert "150.00 EUR" in message.body and "240.00" not in message.body
    with tenant_context(org):
        assert ReminderMessage.objects.get(invoice=invoice, status="sent").amount_due == Decimal("150.000")


def test_a_whole_dispute_stops_the_reminders(due_invoice):
    org, owner, customer, invoice = due_invoice
    with tenant_context(org):
        disputes.raise_dispute(invoice, reason="not_received", actor=owner)
    mail.outbox.clear()
    run(at(invoice.due_date + timedelta(days=7)), org)
    assert not [m for m in mail.outbox if invoice.number in m.subject + m.body]


def test_messages_move_the_status_between_us_and_the_customer(due_invoice):
    org, owner, customer, invoice = due_invoice
    with tenant_context(org):
        d = disputes.raise_dispute(invoice, reason="other", actor=owner)
        disputes.add_message(d, "Which delivery do you mean?", from_customer=False, actor=owner)
        assert Dispute.objects.get(pk=d.pk).status == DisputeStatus.WAITING
        disputes.add_message(d, "The one of 3 March", from_customer=True)
        assert Dispute.objects.get(pk=d.pk).status == DisputeStatus.OPEN
        assert [m.from_customer for m in d.messages.all()] == [False, True]


def test_the_staff_pages_queue_raise_and_resolve(due_invoice, client):
    from accounts.models import Role

    org, owner, customer, invoice = due_invoice
    clerk = add_member(org, Role.FINANCE)
    client.force_login(clerk)
    url = f"/o/{org.slug}/reminders/"
    response = client.post(f"{url}invoices/{invoice.pk}/dispute/", {"reason": "quality", "amount": "30",
                                                                    "message": "Scratched"})
    assert response.status_code == 302
    with tenant_context(org):
        d = Dispute.objects.get()
        assert d.assignee == clerk and d.amount == Decimal("30.000")
    queue = client.get(f"{url}disputes/?owner=me").content.decode()
    assert invoice.number in queue and "Scratched" not in queue
    page = client.get(f"{url}disputes/{d.pk}/").content.decode()
    assert "Scratched" in page and "Resolve dispute" in page
    # No note: refused, nothing changed.
    client.post(f"{url}disputes/{d.pk}/resolve/", {"outcome": "rejected", "note": ""})
    with tenant_context(org):
        assert Dispute.objects.get().status == DisputeStatus.OPEN
    client.post(f"{url}disputes/{d.pk}/resolve/", {"outcome": "rejected", "note": "As agreed in the order"})
    with tenant_context(org):
        assert Dispute.objects.get().status == DisputeStatus.RESOLVED
    assert invoice.number not in client.get(f"{url}disputes/").content.decode()
    assert invoice.number in client.get(f"{url}disputes/?status=resolved").content.decode()


def test_a_portal_dispute_pauses_only_its_part_and_reaches_the_worklist(due_invoice, client, settings):
    import uuid

    from accounts.models import Role
    from invoicing import public

    settings.PUBLIC_BASE_URL = "http://testserver"
    org, owner, customer, invoice = due_invoice
    clerk = add_member(org, Role.FINANCE)
    with tenant_context(org):
        url = public.link_path(public.ensure_link(invoice)) + "account/"
    assert client.post(url + "dispute/", {"invoice": invoice.pk, "key": uuid.uuid4().hex, "reason": "wrong_amount",
                                          "amount": "40.00", "message": "Rate was 80"}).status_code == 302
    assert client.post(url + "promise/", {"invoice": invoice.pk, "key": uuid.uuid4().hex, "amount": "200",
                                          "until": (invoice.today + timedelta(days=3)).isoformat()}).status_code == 302
    client.force_login(clerk)
    page = client.get(f"/o/{org.slug}/reminders/worklist/").content.decode()
    assert invoice.number in page and "disputed 40.00 EUR of" in page and "from their link" in page
    assert 'id="bell-count">1<' in page
    client.post(f"/o/{org.slug}/reminders/notifications/read/")
    assert 'id="bell-count">0<' in client.get(f"/o/{org.slug}/reminders/worklist/").content.decode()
    # After the promise's date: the reminder asks for the 200.00 not in dispute, not the 240.00.
    with tenant_context(org):
        PromiseToPay.objects.update(cancelled_at=timezone.now())
    mail.outbox.clear()
    run(at(invoice.due_date + timedelta(days=7)), org)
    (message,) = [m for m in mail.outbox if invoice.number in m.subject + m.body]
    assert "200.00 EUR" in message.body and "240.00" not in message.body
