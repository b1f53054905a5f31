from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger_verify import verify_organization
from accounts.models import JournalLine
from invoicing.credit_notes import credit_amount, credit_invoice_lines
from invoicing.models import Invoice
from invoicing.services import InvoiceError, issue_invoice, void_invoice, write_off
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = pytest.mark.django_db


@pytest.fixture
def posting_org():
    org, owner = make_org()
    with tenant_context(org, owner):
        yield org, owner, CustomerFactory(organization=org)


def lines_by_account(entry_id, org):
    acc = {a.pk: key for key, a in system_accounts(org).items()}
    return {acc[line.account_id]: line.amount for line in JournalLine.objects.filter(entry_id=entry_id)}


def test_issue_posts_ar_total_revenue_net_and_tax(posting_org):
    org, owner, customer = posting_org
    inv = issued(org, customer, [("Design", "3", "33.333", "20"), ("Hosting", "1", "10", None)], actor=owner)
    # 3 × 33.333 = 99.999 → 100.00; tax 20.00; hosting 10.00 untaxed
    assert (inv.subtotal, inv.tax_total, inv.total) == (Decimal("110.00"), Decimal("20.00"), Decimal("130.00"))
    assert inv.number.startswith("INV-") and inv.amount_due == Decimal("130.00")
    assert lines_by_account(inv.issue_entry_id, org) == {
        "ar": Decimal("130.00"), "revenue": Decimal("-110.00"), "tax": Decimal("-20.00")}
    assert ledger.customer_balance(customer) == Decimal("130.00")
    assert verify_organization(org).ok


def test_numbers_are_assigned_on_issue_in_sequence(posting_org):
    org, _, customer = posting_org
    d1, d2 = draft(org, customer), draft(org, customer)
    assert d1.number is None
    issue_invoice(d2)
    issue_invoice(d1)
    year = date.today().year
    assert Invoice.objects.get(pk=d2.pk).number == f"INV-{year}-00001"
    assert Invoice.objects.get(pk=d1.pk).number == f"INV-{year}-00002"


def test_issuing_twice_is_refused(posting_org):
    org, _, customer = posting_org
    inv = issued(org, customer)
    with pytest.raises(InvoiceError, match="Only a draft"):
        issue_invoice(inv)


def test_empty_or_zero_invoice_cannot_be_issued(posting_org):
    org, _, customer = posting_org
    with pytest.raises(InvoiceError, match="at least one line"):
        issue_invoice(draft(org, customer, lines=()))
    with pytest.raises(InvoiceError, match="more than zero"):
        issue_invoice(draft(org, customer, lines=(("Free", "1", "0", None),)))


def test_void_reverses_the_issue_entry(posting_org):
    org, owner, customer = posting_org
    inv = issued(org, customer)
    inv = void_invoice(inv, "issued by mistake", actor=owner)
    assert inv.status == "void" and inv.amount_due == 0
    assert inv.void_entry.reverses_id == inv.issue_entry_id
    assert ledger.customer_balance(customer) == 0
    assert verify_organization(org).ok


def test_void_refused_once_something_is_applied(posting_org):
    org, owner, customer = posting_org
    inv = issued(org, customer)
    write_off(inv, Decimal("10.00"), "goodwill", actor=owner)
    with pytest.raises(InvoiceError, match="applied"):
        void_invoice(inv, "oops")


def test_write_off_posts_bad_debt_and_reduces_amount_due(posting_org):
    org, owner, customer = posting_org
    inv = issued(org, customer)  # 240.00
    wo = write_off(inv, Decimal("40.00"), "small balance", actor=owner)
    assert lines_by_account(wo.entry_id, org) == {"bad_debt": Decimal("40.00"), "ar": Decimal("-40.00")}
    inv.refresh_from_db()
    assert inv.amount_due == Decimal("200.00") and inv.amount_written_off == Decimal("40.00")
    with pytest.raises(InvoiceError, match="amount due"):
        write_off(inv, Decimal("200.01"), "too much")


def test_credit_note_on_lines_posts_returns_and_tax_and_reduces_amount_due(posting_org):
    org, owner, customer = posting_org
    inv = issued(org, customer, [("Widget", "4", "25.00", "20")])  # 100 + 20
    line = inv.lines.get()
    note = credit_invoice_lines(inv, {line.pk: Decimal("1")}, "one returned", actor=owner)
    assert (note.subtotal, note.tax_total, note.total) == (Decimal("25.00"), Decimal("5.00"), Decimal("30.00"))
    assert note.number.startswith("CN-")
    assert lines_by_account(note.entry_id, org) == {
        "returns": Decimal("25.00"), "tax": Decimal("5.00"), "ar": Decimal("-30.00")}
    inv.refresh_from_db()
    assert inv.amount_due == Decimal("90.00") and inv.amount_credited == Decimal("30.00")
    with pytest.raises(InvoiceError, match="credit between 0 and 3"):
        credit_invoice_lines(inv, {line.pk: Decimal("4")}, "too many")
    assert verify_organization(org).ok


def test_crediting_more_than_invoiced_is_refused(posting_org):
    org, _, customer = posting_org
    inv = issued(org, customer)  # 240.00
    with pytest.raises(InvoiceError, match="more than the"):
        credit_amount(customer, Decimal("240.01"), "too much", invoice=inv)


def test_standalone_credit_note_leaves_customer_credit(posting_org):
    org, _, customer = posting_org
    note = credit_amount(customer, Decimal("50.00"), "goodwill")
    assert note.unapplied == Decimal("50.00")
    assert ledger.customer_balance(customer) == Decimal("-50.00")


def test_due_date_before_issue_date_is_refused_by_the_database(posting_org):
    from django.db import IntegrityError, transaction

    org, _, customer = posting_org
    with pytest.raises(IntegrityError), transaction.atomic():
        draft(org, customer, issue_date=date.today(), due_date=date.today() - timedelta(days=1))


def test_void_posts_the_exact_mirror_of_the_issue_entry(posting_org):
    org, owner, customer = posting_org
    inv = issued(org, customer, [("Design", "3", "33.333", "20"), ("Hosting", "1", "10", None)], actor=owner)
    inv = void_invoice(inv, "wrong customer", actor=owner)
    assert lines_by_account(inv.void_entry_id, org) == {
        "ar": Decimal("-130.00"), "revenue": Decimal("110.00"), "tax": Decimal("20.00")}
    customers = set(JournalLine.objects.filter(entry_id=inv.void_entry_id, customer__isnull=False)
                    .values_list("customer_id", flat=True))
    assert customers == {customer.pk}
    assert verify_organization(org).ok


def test_issue_with_line_and_invoice_discounts_posts_the_rounded_lines(posting_org):
    org, owner, customer = posting_org
    inv = draft(org, customer, [("A", "3", "19.99", "20"), ("B", "7", "0.333", "9")], discount_percent=Decimal("5"))
    line_b = inv.lines.get(description="B")
    line_b.discount_percent = Decimal("12.5")
    line_b.save()
    inv = issue_invoice(inv, actor=owner)
    # A: gross 59.97, net 56.9715 → 56.97, tax 11.394 → 11.39
    # B: 7 × 0.333 × 0.875 = 2.039625 → gross 2.04; net 1.93764375 → 1.94; tax 0.1746 → 0.17
    assert (inv.subtotal, inv.discount_total, inv.tax_total, inv.total) == (
        Decimal("62.01"), Decimal("3.10"), Decimal("11.56"), Decimal("70.47"))
    assert lines_by_account(inv.issue_entry_id, org) == {
        "ar": Decimal("70.47"), "revenue": Decimal("-58.91"), "tax": Decimal("-11.56")}


def test_credit_amount_with_tax_against_an_invoice_posts_returns_tax_and_ar(posting_org):
    org, owner, customer = posting_org
    inv = issued(org, customer)  # 240.00
    note = credit_amount(customer, Decimal("100.00"), "price adjustment", invoice=inv, tax_percent=Decimal("20"))
    # net = 100 × 100 / 120 = 83.333… → 83.33; tax = 16.67
    assert lines_by_account(note.entry_id, org) == {
        "returns": Decimal("83.33"), "tax": Decimal("16.67"), "ar": Decimal("-100.00")}
    inv.refresh_from_db()
    assert inv.amount_credited == Decimal("100.00") and inv.amount_due == Decimal("140.00")
    assert ledger.customer_balance(customer) == Decimal("140.00")


def test_standalone_credit_note_posts_returns_against_ar(posting_org):
    org, owner, customer = posting_org
    note = credit_amount(customer, Decimal("50.00"), "goodwill", actor=owner)
    assert lines_by_account(note.entry_id, org) == {"returns": Decimal("50.00"), "ar": Decimal("-50.00")}
    assert note.invoice is None and note.amount_applied == 0


def test_credit_beyond_the_amount_due_leaves_customer_credit(posting_org):
    org, owner, customer = posting_org
    inv = issued(org, customer)  # 240.00
    write_off(inv, Decimal("200.00"), "mostly gone", actor=owner)
    note = credit_amount(customer, Decimal("100.00"), "returned", invoice=inv)
    inv.refresh_from_db()
    note.refresh_from_db()
    assert inv.amount_due == 0 and inv.amount_credited == Decimal("40.00")
    assert note.amount_applied == Decimal("40.00") and note.unapplied == Decimal("60.00")
    assert ledger.customer_balance(customer) == Decimal("-60.00")
    assert verify_organization(org).ok


def test_credit_note_retry_with_the_same_key_takes_no_number_and_posts_nothing(posting_org):
    from invoicing.models import CreditNote, NumberSeries

    org, owner, customer = posting_org
    inv = issued(org, customer)
    first = credit_amount(customer, Decimal("240.00"), "all back", invoice=inv, idempotency_key="retry-1")
    again = credit_amount(customer, Decimal("240.00"), "all back", invoice=inv, idempotency_key="retry-1")
    assert again.pk == first.pk and CreditNote.objects.count() == 1
    assert NumberSeries.objects.get(organization=org, kind="credit_note").last_number == 1
    standalone = credit_amount(customer, Decimal("5.00"), "goodwill", idempotency_key="retry-2")
    assert credit_amount(customer, Decimal("5.00"), "goodwill", idempotency_key="retry-2").pk == standalone.pk
    year = date.today().year
    assert sorted(CreditNote.objects.values_list("number", flat=True)) == [f"CN-{year}-00001", f"CN-{year}-00002"]


def test_credit_notes_and_void_can_be_dated_in_the_past(posting_org):
    org, owner, customer = posting_org
    past = date.today() - timedelta(days=40)
    inv = issued(org, customer, issue_date=past - timedelta(days=5), due_date=past + timedelta(days=25))
    line = inv.lines.get()
    note = credit_invoice_lines(inv, {line.pk: Decimal("1")}, "returned", issue_date=past)
    assert note.issue_date == past and note.entry.effective_date == past
    other = issued(org, customer, issue_date=past, due_date=past)
    other = void_invoice(other, "mistake", effective_date=past)
    assert other.void_entry.effective_date == past
