"""Lifecycle actions from the invoice page: issue, void, write off, dispute, duplicate, credit.

State changes are POST-only for finance and owners; destructive ones show a confirmation page
first; double submissions post once.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import ledger
from accounts.ledger_verify import verify_organization
from accounts.models import JournalEntry
from invoicing.models import CreditNote, Invoice, InvoiceStatus, NumberSeries, WriteOff
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db


def entries(acme):
    with acme.ctx():
        return JournalEntry.objects.filter(organization=acme.org).count()


def reload(acme, invoice):
    with acme.ctx():
        return Invoice.objects.get(pk=invoice.pk)


def test_issue_from_the_page_posts_once_even_when_submitted_twice(acme):
    with acme.ctx():
        inv = draft(acme.org, acme.customer)
    client = acme.client(acme.finance)
    assert client.get(acme.url("invoice_issue", pk=inv.pk)).status_code == 405  # never on GET
    first = client.post(acme.url("invoice_issue", pk=inv.pk), follow=True)
    second = client.post(acme.url("invoice_issue", pk=inv.pk), follow=True)
    year = timezone.localdate().year
    assert f"Invoice INV-{year}-00001 issued." in first.content.decode()
    assert "is already issued" in second.content.decode()
    inv = reload(acme, inv)
    assert inv.status == InvoiceStatus.ISSUED and inv.number == f"INV-{year}-00001"
    assert entries(acme) == 1
    with acme.ctx():
        assert NumberSeries.objects.get(organization=acme.org, kind="invoice").last_number == 1


def test_issue_refusal_is_shown_and_changes_nothing(acme):
    with acme.ctx():
        inv = draft(acme.org, acme.customer, lines=(("Free", "1", "0", None),))
    page = acme.client(acme.finance).post(acme.url("invoice_issue", pk=inv.pk), follow=True).content.decode()
    assert "The invoice total must be more than zero." in page
    assert reload(acme, inv).status == InvoiceStatus.DRAFT and entries(acme) == 0


def test_void_needs_confirmation_and_a_reason(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer)
    client = acme.client(acme.finance)
    confirm = client.get(acme.url("invoice_void", pk=inv.pk))
    assert confirm.status_code == 200 and "Void invoice" in confirm.content.decode()
    assert reload(acme, inv).status == InvoiceStatus.ISSUED
    page = client.post(acme.url("invoice_void", pk=inv.pk), {"reason": ""}).content.decode()
    assert "This field is required." in page and reload(acme, inv).status == InvoiceStatus.ISSUED
    assert client.post(acme.url("invoice_void", pk=inv.pk), {"reason": "wrong customer"}).status_code == 302
    inv = reload(acme, inv)
    assert inv.status == InvoiceStatus.VOID and inv.amount_due == 0
    with acme.ctx():
        assert ledger.customer_balance(acme.customer) == 0
        assert inv.events.filter(kind="voided").exists()


def test_voiding_a_paid_or_credited_invoice_is_refused(acme):
    from invoicing.credit_notes import credit_amount

    with acme.ctx():
        inv = issued(acme.org, acme.customer)
        credit_amount(acme.customer, Decimal("10.00"), "goodwill", invoice=inv)
    client = acme.client(acme.finance)
    assert "cannot be voided" in client.get(acme.url("invoice_void", pk=inv.pk)).content.decode()
    page = client.post(acme.url("invoice_void", pk=inv.pk), {"reason": "try anyway"}).content.decode()
    assert "cannot be voided" in page
    assert reload(acme, inv).status == InvoiceStatus.ISSUED


def test_write_off_double_submit_posts_once(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer)  # 240.00
    client = acme.client(acme.finance)
    form = client.get(acme.url("invoice_write_off", pk=inv.pk)).content.decode()
    key = form.split('name="idempotency_key" value="')[1][:32]
    data = {"amount": "240.00", "reason": "customer insolvent", "idempotency_key": key}
    assert client.post(acme.url("invoice_write_off", pk=inv.pk), data).status_code == 302
    again = client.post(acme.url("invoice_write_off", pk=inv.pk), data, follow=True)
    assert "already recorded" in again.content.decode()
    inv = reload(acme, inv)
    assert inv.amount_written_off == Decimal("240.00") and inv.amount_due == 0
    assert inv.display_status == "written_off"
    with acme.ctx():
        assert WriteOff.objects.filter(invoice=inv).count() == 1
    assert entries(acme) == 2


def test_write_off_service_with_the_same_key_returns_the_first(acme):
    from invoicing.services import write_off

    with acme.ctx():
        inv = issued(acme.org, acme.customer)
        first = write_off(inv, Decimal("240.00"), "gone", idempotency_key="k1")
        again = write_off(inv, Decimal("240.00"), "gone", idempotency_key="k1")
        assert first.pk == again.pk and WriteOff.objects.count() == 1


@pytest.mark.parametrize("amount, message", [
    ("240.01", "At most the amount due (240.00 EUR)."),
    ("0", "Write off an amount greater than zero."),
    ("-5", "Write off an amount greater than zero."),
    ("1.005", "Use at most 2 decimals for EUR."),
])
def test_write_off_bad_amounts(acme, amount, message):
    with acme.ctx():
        inv = issued(acme.org, acme.customer)
    data = {"amount": amount, "reason": "x", "idempotency_key": uuid.uuid4().hex}
    page = acme.client(acme.finance).post(acme.url("invoice_write_off", pk=inv.pk), data).content.decode()
    assert message in page
    assert reload(acme, inv).amount_written_off == 0 and entries(acme) == 1


def test_write_off_with_a_forged_key_is_refused(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer)
    data = {"amount": "10", "reason": "x", "idempotency_key": "not-a-key"}
    page = acme.client(acme.finance).post(acme.url("invoice_write_off", pk=inv.pk), data).content.decode()
    assert "This form expired" in page and entries(acme) == 1


def test_dispute_and_resolve(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer)
    client = acme.client(acme.finance)
    until = (timezone.localdate() + timedelta(days=10)).isoformat()
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    page = client.post(acme.url("invoice_dispute", pk=inv.pk), {"reason": "hours", "until": past}).content.decode()
    assert "The hold must end today or later." in page and reload(acme, inv).disputed_at is None
    assert client.post(acme.url("invoice_dispute", pk=inv.pk), {"reason": "hours too high", "until": until}) \
        .status_code == 302
    inv = reload(acme, inv)
    assert inv.is_disputed and inv.disputed_by == acme.finance
    detail = acme.client(acme.viewer).get(acme.url("invoice_detail", pk=inv.pk)).content.decode()
    assert 'data-status="disputed"' in detail and "hours too high" in detail
    listing = acme.client(acme.viewer).get(acme.url("invoice_list") + "?status=disputed").content.decode()
    assert inv.number in listing
    assert client.post(acme.url("invoice_resolve_dispute", pk=inv.pk)).status_code == 302
    inv = reload(acme, inv)
    assert not inv.is_disputed
    with acme.ctx():
        assert list(inv.events.values_list("kind", flat=True)) == ["issued", "disputed", "dispute_resolved"]


def test_duplicate_makes_a_new_draft_with_the_same_lines(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer, [("A", "1", "10", "20"), ("B", "2", "5", None)])
    response = acme.client(acme.finance).post(acme.url("invoice_duplicate", pk=inv.pk))
    with acme.ctx():
        copy = Invoice.objects.exclude(pk=inv.pk).get(organization=acme.org)
        assert copy.status == InvoiceStatus.DRAFT and copy.number is None and copy.total == inv.total
        assert list(copy.lines.values_list("description", flat=True)) == ["A", "B"]
    assert response.url == acme.url("invoice_edit", pk=copy.pk)


def test_credit_lines_from_the_page_and_double_submit(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer, [("Widget", "4", "25.00", "20")])  # 120.00
        line = inv.lines.get()
    client = acme.client(acme.finance)
    page = client.get(acme.url("invoice_credit", pk=inv.pk)).content.decode()
    key = page.split('name="lines-idempotency_key" value="')[1][:32]
    data = {"mode": "lines", f"lines-qty_{line.pk}": "1", "lines-reason": "one returned",
            "lines-idempotency_key": key}
    review = client.post(acme.url("invoice_credit", pk=inv.pk), data).content.decode()
    assert 'data-testid="credit-total">30.00 EUR<' in review and "Issue credit note for 30.00 EUR" in review
    with acme.ctx():
        assert CreditNote.objects.count() == 0, "the review issues nothing"
    data.update(confirm="1", reviewed_total="30.00")
    assert client.post(acme.url("invoice_credit", pk=inv.pk), data).status_code == 302
    again = client.post(acme.url("invoice_credit", pk=inv.pk), data, follow=True)
    assert "was already issued" in again.content.decode()
    with acme.ctx():
        note = CreditNote.objects.get(organization=acme.org)
        assert note.total == Decimal("30.00") and note.invoice_id == inv.pk
        # the retry took no number either: the next credit note continues the series without a gap
        assert NumberSeries.objects.get(organization=acme.org, kind="credit_note").last_number == 1
    inv = reload(acme, inv)
    assert inv.amount_credited == Decimal("30.00") and inv.amount_due == Decimal("90.00")


def test_crediting_more_than_invoiced_is_refused(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer, [("Widget", "4", "25.00", "20")])
        line = inv.lines.get()
    client = acme.client(acme.finance)
    page = client.post(acme.url("invoice_credit", pk=inv.pk), {
        "mode": "lines", f"lines-qty_{line.pk}": "5", "lines-reason": "too many",
        "lines-idempotency_key": uuid.uuid4().hex}).content.decode()
    assert "At most 4 can still be credited." in page
    page = client.post(acme.url("invoice_credit", pk=inv.pk), {
        "mode": "amount", "amount-amount": "120.01", "amount-tax_percent": "20", "amount-reason": "too much",
        "amount-idempotency_key": uuid.uuid4().hex}).content.decode()
    assert "At most 120.00 EUR can still be credited on this invoice." in page
    page = client.post(acme.url("invoice_credit", pk=inv.pk), {
        "mode": "lines", "lines-reason": "nothing chosen", "lines-idempotency_key": uuid.uuid4().hex}).content.decode()
    assert "Enter a quantity to credit on at least one line." in page
    with acme.ctx():
        assert CreditNote.objects.count() == 0


def test_credit_an_amount_with_tax(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer)  # 200 + 40 tax
    data = {"mode": "amount", "amount-amount": "60.00", "amount-tax_percent": "20", "amount-reason": "discount",
            "amount-idempotency_key": uuid.uuid4().hex, "confirm": "1", "reviewed_total": "60.00"}
    assert acme.client(acme.finance).post(acme.url("invoice_credit", pk=inv.pk), data).status_code == 302
    with acme.ctx():
        note = CreditNote.objects.get()
        assert (note.subtotal, note.tax_total, note.total) == (Decimal("50.00"), Decimal("10.00"), Decimal("60.00"))
    assert reload(acme, inv).amount_due == Decimal("180.00")


def test_standalone_credit_note_from_the_customer_page(acme):
    client = acme.client(acme.finance)
    page = client.get(acme.url("credit_note_create", customer_pk=acme.customer.pk)).content.decode()
    key = page.split('name="idempotency_key" value="')[1][:32]
    data = {"amount": "50.00", "tax_percent": "0", "reason": "goodwill", "idempotency_key": key}
    assert client.post(acme.url("credit_note_create", customer_pk=acme.customer.pk), data).status_code == 302
    assert client.post(acme.url("credit_note_create", customer_pk=acme.customer.pk), data).status_code == 302
    with acme.ctx():
        note = CreditNote.objects.get()
        assert note.invoice is None and note.unapplied == Decimal("50.00")
        assert ledger.customer_balance(acme.customer) == Decimal("-50.00")
        assert verify_organization(acme.org).ok


def test_viewer_sees_no_action_buttons_and_cannot_act(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer)
    client = acme.client(acme.viewer)
    page = client.get(acme.url("invoice_detail", pk=inv.pk)).content.decode()
    assert "Write off" not in page and "Void" not in page
    for name, data in [("invoice_void", {"reason": "x"}), ("invoice_dispute", {"reason": "x"}),
                       ("invoice_duplicate", {}), ("invoice_write_off", {"amount": "1", "reason": "x"})]:
        assert client.post(acme.url(name, pk=inv.pk), data).status_code == 403
    assert entries(acme) == 1 and reload(acme, inv).status == InvoiceStatus.ISSUED


def test_actions_on_another_orgs_invoice_are_not_found(acme):
    other, owner = make_org()
    from ledger_site.tenancy import tenant_context

    with tenant_context(other, owner):
        foreign = issued(other, CustomerFactory(organization=other))
    client = acme.client(acme.owner)
    for name in ("invoice_issue", "invoice_void", "invoice_duplicate", "invoice_resolve_dispute", "invoice_credit"):
        assert client.post(acme.url(name, pk=foreign.pk), {"reason": "x"}).status_code == 404
    with tenant_context(other, owner):
        assert Invoice.objects.get(pk=foreign.pk).status == InvoiceStatus.ISSUED


def test_invoice_page_shows_amounts_snapshot_tax_summary_and_timeline(acme):
    from invoicing.credit_notes import credit_amount
    from invoicing.services import write_off

    with acme.ctx():
        inv = issued(acme.org, acme.customer, [("Design", "3", "33.333", "20"), ("Hosting", "1", "10", None)],
                     actor=acme.owner)
        credit_amount(acme.customer, Decimal("12.00"), "goodwill", invoice=inv, tax_percent=Decimal("20"))
        write_off(inv, Decimal("8.00"), "rounding", actor=acme.owner)
        # the customer is renamed after issuing: the invoice keeps what it was issued with
        acme.customer.name = "Renamed Later"
        acme.customer.save()
    page = acme.client(acme.viewer).get(acme.url("invoice_detail", pk=inv.pk)).content.decode()
    for text in ["130.00 EUR", "12.00 EUR", "8.00 EUR", "110.00 EUR",  # total, credited, written off, due
                 "Tax 20% on 100.00 EUR", "Tax 0% on 10.00 EUR", "Bluebird Bakery", "Acme Ltd", "IE999",
                 "Issued as", "Credit note", "Written off", 'data-status="partially_paid"', "Design", "Hosting"]:
        assert text in page, text
    assert page.index("Issued as") < page.index("Wrote off")


def test_the_credit_review_shows_the_total_and_where_it_goes_and_a_changed_quantity_is_reviewed_again(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer, [("Widget", "4", "25.00", "20")])  # 120.00
        line = inv.lines.get()
        pay(acme.org, acme.customer, Decimal("100.00"))  # 20.00 left to pay
    client = acme.client(acme.finance)
    data = {"mode": "lines", f"lines-qty_{line.pk}": "2", "lines-reason": "two returned",
            "lines-idempotency_key": uuid.uuid4().hex}
    review = client.post(acme.url("invoice_credit", pk=inv.pk), data).content.decode()
    assert 'data-testid="credit-total">60.00 EUR<' in review
    assert "20.00 EUR" in review.split(f"Applied to {inv.number}")[1][:80]
    assert "40.00 EUR" in review.split("Stays as the customer")[1][:80]
    data.update({f"lines-qty_{line.pk}": "3", "confirm": "1", "reviewed_total": "60.00"})
    again = client.post(acme.url("invoice_credit", pk=inv.pk), data)
    assert again.status_code == 200 and 'data-testid="credit-total">90.00 EUR<' in again.content.decode()
    with acme.ctx():
        assert CreditNote.objects.count() == 0, "a total nobody reviewed is not issued"
    data["reviewed_total"] = "90.00"
    assert client.post(acme.url("invoice_credit", pk=inv.pk), data).status_code == 302
    with acme.ctx():
        assert CreditNote.objects.get().total == Decimal("90.00")
