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
def ctx():
    org, owner = make_org()
    with tenant_context(org, owner):
        yield org, owner, CustomerFactory(organization=org)


def lines_by_account(entry_id, org):
    acc = {a.pk: key for key, a in system_accounts(org).items()}
    return {acc[line.account_id]: line.amount for line in JournalLine.objects.filter(entry_id=entry_id)}


def test_issue_posts_ar_total_revenue_net_and_tax(ctx):
    org, owner, customer = ctx
    inv = issued(org, customer, [("Design", "3", "33.333", "20"), ("Hosting", "1", "10", None)], actor=owner)
    # 3 × 33.333 = 99.999 → 100.00; tax 20.00; hosting 10.00 untaxed
    assert (inv.subtotal, inv.tax_total, inv.total) == (Decimal("110.00"), Decimal("20.00"), Decimal("130.00"))
    assert inv.number.startswith("INV-") and inv.amount_due == Decimal("130.00")
    assert lines_by_account(inv.issue_entry_id, org) == {
        "ar": Decimal("130.00"), "revenue": Decimal("-110.00"), "tax": Decimal("-20.00")}
    assert ledger.customer_balance(customer) == Decimal("130.00")
    assert verify_organization(org).ok


def test_numbers_are_assigned_on_issue_in_sequence(ctx):
    org, _, customer = ctx
    d1, d2 = draft(org, customer), draft(org, customer)
    assert d1.number is None
    issue_invoice(d2)
    issue_invoice(d1)
    year = date.today().year
    assert Invoice.objects.get(pk=d2.pk).number == f"INV-{year}-00001"
    assert Invoice.objects.get(pk=d1.pk).number == f"INV-{year}-00002"


def test_issuing_twice_is_refused(ctx):
    org, _, customer = ctx
    inv = issued(org, customer)
    with pytest.raises(InvoiceError, match="Only a draft"):
        issue_invoice(inv)


def test_empty_or_zero_invoice_cannot_be_issued(ctx):
    org, _, customer = ctx
    with pytest.raises(InvoiceError, match="at least one line"):
        issue_invoice(draft(org, customer, lines=()))
    with pytest.raises(InvoiceError, match="more than zero"):
        issue_invoice(draft(org, customer, lines=(("Free", "1", "0", None),)))


def test_void_reverses_the_issue_entry(ctx):
    org, owner, customer = ctx
    inv = issued(org, customer)
    inv = void_invoice(inv, "issued by mistake", actor=owner)
    assert inv.status == "void" and inv.amount_due == 0
    assert inv.void_entry.reverses_id == inv.issue_entry_id
    assert ledger.customer_balance(customer) == 0
    assert verify_organization(org).ok


def test_void_refused_once_something_is_applied(ctx):
    org, owner, customer = ctx
    inv = issued(org, customer)
    write_off(inv, Decimal("10.00"), "goodwill", actor=owner)
    with pytest.raises(InvoiceError, match="applied"):
        void_invoice(inv, "oops")


def test_write_off_posts_bad_debt_and_reduces_amount_due(ctx):
    org, owner, customer = ctx
    inv = issued(org, customer)  # 240.00
    wo = write_off(inv, Decimal("40.00"), "small balance", actor=owner)
    assert lines_by_account(wo.entry_id, org) == {"bad_debt": Decimal("40.00"), "ar": Decimal("-40.00")}
    inv.refresh_from_db()
    assert inv.amount_due == Decimal("200.00") and inv.amount_written_off == Decimal("40.00")
    with pytest.raises(InvoiceError, match="amount due"):
        write_off(inv, Decimal("200.01"), "too much")


def test_credit_note_on_lines_posts_returns_and_tax_and_reduces_amount_due(ctx):
    org, owner, customer = ctx
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


def test_crediting_more_than_invoiced_is_refused(ctx):
    org, _, customer = ctx
    inv = issued(org, customer)  # 240.00
    with pytest.raises(InvoiceError, match="more than the"):
        credit_amount(customer, Decimal("240.01"), "too much", invoice=inv)


def test_standalone_credit_note_leaves_customer_credit(ctx):
    org, _, customer = ctx
    note = credit_amount(customer, Decimal("50.00"), "goodwill")
    assert note.unapplied == Decimal("50.00")
    assert ledger.customer_balance(customer) == Decimal("-50.00")


def test_due_date_before_issue_date_is_refused_by_the_database(ctx):
    from django.db import IntegrityError, transaction

    org, _, customer = ctx
    with pytest.raises(IntegrityError), transaction.atomic():
        draft(org, customer, issue_date=date.today(), due_date=date.today() - timedelta(days=1))
