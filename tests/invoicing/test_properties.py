"""Property test: random invoices and random sequences of issue, void, credit, write-off and
credit application keep the ledger's promises (DESIGN.md invariants 1, 3, 4, 5, 6).

After every operation, refused or not:
- each invoice's amount due = total − paid − credited − written off ≥ 0 (0 when void), and the
  maintained amounts equal the rows behind them;
- each customer's balance (the ledger) = Σ its open amounts due − its unapplied credit notes;
- the AR control account = Σ customer balances, per currency;
- a refused operation changed nothing;
and at the end `verify_organization` recomputes the chain and finds nothing wrong.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError
from accounts.ledger_verify import verify_organization
from accounts.models import CustomerBalance, JournalEntry
from accounts.money import quantum, round_money
from invoicing.credit_notes import credit_amount, credit_invoice_lines
from invoicing.models import CreditNote, Invoice, InvoiceLine, InvoiceStatus, TaxRate, WriteOff
from invoicing.services import issue_invoice, new_draft, recompute_totals, void_invoice, write_off
from ledger_site.tenancy import tenant_context
from payments.allocation import apply
from payments.models import Allocation
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import flat_rates

pytestmark = pytest.mark.django_db

CURRENCIES = ["EUR", "JPY", "KWD"]
TAXES = [None, "0", "5.5", "7", "19", "20", "33.3333"]

quantities = st.one_of(st.integers(1, 40).map(Decimal),
                       st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3))
prices = st.one_of(st.decimals(min_value=Decimal("1"), max_value=Decimal("5000"), places=2),
                   st.decimals(min_value=Decimal("0"), max_value=Decimal("10000"), places=4))
percents = st.sampled_from([Decimal(p) for p in ("0", "0", "5", "12.5", "33.3333", "99.9999", "100")])
lines = st.tuples(quantities, prices, percents, st.sampled_from(TAXES))
documents = st.tuples(st.integers(0, 1), st.lists(lines, min_size=1, max_size=4), percents,
                      st.sampled_from([True, True, True, False]))  # issue it before the operations
fractions = st.integers(min_value=1, max_value=100)  # percent of what is possible
operations = st.one_of(
    st.tuples(st.just("issue"), st.integers(0, 5)),
    st.tuples(st.just("void"), st.integers(0, 5)),
    st.tuples(st.just("write_off"), st.integers(0, 5), fractions),
    st.tuples(st.just("credit_lines"), st.integers(0, 5), st.integers(0, 3), fractions),
    st.tuples(st.just("credit_amount"), st.integers(0, 5), fractions, st.sampled_from(["0", "20"])),
    st.tuples(st.just("standalone_credit"), st.integers(0, 1), st.integers(1, 50000)),
    st.tuples(st.just("apply_credit"), st.integers(0, 5), st.integers(0, 5)),
)


def state(org):
    """What a refused operation must leave untouched."""
    return (JournalEntry.objects.filter(organization=org).count(),
            list(Invoice.objects.filter(organization=org).order_by("pk").values_list(
                "status", "total", "amount_paid", "amount_credited", "amount_written_off", "amount_due")),
            list(CreditNote.objects.filter(organization=org).order_by("pk").values_list("total", "amount_applied")))


def check_invariants(org, customers):
    for inv in Invoice.objects.filter(organization=org):
        if inv.status == InvoiceStatus.VOID:
            assert inv.amount_due == 0
            continue
        assert inv.amount_due == inv.total - inv.amount_paid - inv.amount_credited - inv.amount_written_off
        assert inv.amount_due >= 0
        credited = Allocation.objects.filter(invoice=inv, credit_note__isnull=False).aggregate(s=Sum("amount"))["s"]
        assert inv.amount_credited == (credited or 0)
        assert inv.amount_written_off == (WriteOff.objects.filter(invoice=inv).aggregate(s=Sum("amount"))["s"] or 0)
    for customer in customers:
        open_due = Invoice.objects.filter(customer=customer, status=InvoiceStatus.ISSUED).aggregate(
            s=Sum("amount_due"))["s"] or Decimal(0)
        unapplied = sum((n.unapplied for n in CreditNote.objects.filter(customer=customer)), Decimal(0))
        assert ledger.customer_balance(customer) == open_due - unapplied
    ar = system_accounts(org)["ar"]
    for currency in {c.currency for c in customers}:
        customer_sum = CustomerBalance.objects.filter(customer__organization=org, currency=currency).aggregate(
            s=Sum("amount"))["s"] or Decimal(0)
        assert ledger.account_balance(ar, currency=currency) == customer_sum


def make_draft(org, customer, doc_lines, discount):
    invoice = new_draft(org, customer, discount_percent=discount)
    for n, (qty, price, line_discount, tax) in enumerate(doc_lines, start=1):
        rate = None
        if tax is not None:
            rate, _ = TaxRate.objects.get_or_create(organization=org, percent=Decimal(tax),
                                                    defaults={"name": f"Tax {tax}%"})
        InvoiceLine.objects.create(organization=org, invoice=invoice, position=n, description=f"Line {n}",
                                   quantity=qty, unit_price=price, discount_percent=line_discount, tax_rate=rate)
    recompute_totals(invoice)
    return invoice


def run(org, customers, invoices, op):
    kind, target = op[0], op[1]
    inv = invoices[target % len(invoices)] if invoices else None
    if inv is not None:
        inv.refresh_from_db()
    if kind == "issue":
        issue_invoice(inv)
    elif kind == "void":
        void_invoice(inv, "property test")
    elif kind == "write_off":
        amount = max(quantum(inv.currency), round_money(inv.amount_due * op[2] / 100, inv.currency))
        write_off(inv, amount, "property test")
    elif kind == "credit_lines":
        line_list = list(inv.lines.all())
        if not line_list:
            credit_invoice_lines(inv, {}, "property test")
            return
        line = line_list[op[2] % len(line_list)]
        qty = (line.quantity * op[3] / 100).quantize(Decimal("0.001"))
        credit_invoice_lines(inv, {line.pk: qty}, "property test")
    elif kind == "credit_amount":
        amount = max(quantum(inv.currency), round_money(inv.total * op[2] / 100, inv.currency))
        credit_amount(inv.customer, amount, "property test", invoice=inv, tax_percent=Decimal(op[3]))
    elif kind == "standalone_credit":
        customer = customers[target]
        amount = round_money(Decimal(op[2]) / 100, customer.currency) or quantum(customer.currency)
        credit_amount(customer, amount, "property test")
    elif kind == "apply_credit":
        notes = list(CreditNote.objects.filter(organization=org, customer=inv.customer).order_by("pk"))
        if not notes:
            return
        note = notes[op[2] % len(notes)]
        apply(inv, note, min(note.unapplied, inv.amount_due) or quantum(inv.currency))


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(currencies=st.tuples(st.sampled_from(CURRENCIES), st.sampled_from(CURRENCIES)),
       docs=st.lists(documents, min_size=1, max_size=4), ops=st.lists(operations, min_size=1, max_size=12))
def test_random_documents_and_operations_keep_the_invariants(currencies, docs, ops):
    org, owner = make_org()
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org, currency=c) for c in currencies]
        flat_rates(org, {"JPY": "0.0062", "KWD": "2.98"})
        invoices = [make_draft(org, customers[c], doc_lines, discount) for c, doc_lines, discount, _ in docs]
        for invoice, (*_doc, issue_first) in zip(invoices, docs, strict=True):
            if issue_first and invoice.total > 0:
                issue_invoice(invoice)
        for op in ops:
            before = state(org)
            try:
                with transaction.atomic():
                    run(org, customers, invoices, op)
            except LedgerError:
                assert state(org) == before, f"refused {op} changed something"
            check_invariants(org, customers)
        result = verify_organization(org)
        assert result.ok, result.problems
