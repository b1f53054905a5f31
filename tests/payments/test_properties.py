"""Property-based: random sequences of invoices, payments, allocations, un-allocations, credit
notes, refunds and reversals keep the payment invariants (DESIGN.md 3-5):

- Σ allocations of a payment ≤ its amount (less refunds), and equals its maintained amount;
- an invoice's amount due = total − applied − written off ≥ 0;
- customer balance = Σ open amounts due − unapplied credit (payments and credit notes);
- AR control = Σ customer balances, and verify_ledger passes.

A refused operation (bad amount, more than is due or unapplied, reversing twice...) must raise
a LedgerError and change nothing. Each example builds its own organization inside a
transaction that is rolled back, so examples never see each other's rows.
"""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.chart import system_accounts
from accounts.ledger import LedgerError
from accounts.money import minor_units
from invoicing.credit_notes import credit_amount
from invoicing.models import Invoice
from invoicing.services import write_off
from ledger_site.tenancy import tenant_context
from payments.allocation import unapply
from payments.models import Allocation, Payment
from payments.services import (
    apply_source,
    apply_unapplied_credit,
    record_payment,
    refund_payment,
    reverse_payment,
)
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import check_invariants, snapshot

pytestmark = pytest.mark.django_db

CURRENCIES = ["EUR", "JPY"]
TODAY = date.today()
customer_ix = st.integers(0, len(CURRENCIES) - 1)
minor = st.integers(min_value=-50, max_value=40_000)  # mostly valid, sometimes zero or negative
pick = st.integers(0, 1000)  # which existing row an operation targets (modulo the count)
fraction = st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("1"), Decimal("1.5")])

operations = st.one_of(
    st.tuples(st.just("invoice"), customer_ix, st.integers(1, 40_000), st.integers(0, 90)),
    st.tuples(st.just("pay"), customer_ix, minor, st.sampled_from(["auto", "none", "manual"]), fraction),
    st.tuples(st.just("apply"), pick, st.sampled_from(["auto", "manual"]), fraction),
    st.tuples(st.just("unapply"), pick),
    st.tuples(st.just("refund"), pick, fraction),
    st.tuples(st.just("reverse"), pick),
    st.tuples(st.just("credit_note"), customer_ix, st.integers(1, 10_000)),
    st.tuples(st.just("apply_credit"), pick),
    st.tuples(st.just("write_off"), pick, fraction),
)


def money(n: int, currency: str) -> Decimal:
    return Decimal(n).scaleb(-minor_units(currency))


def portion(amount: Decimal, f: Decimal, currency: str) -> Decimal:
    return (amount * f).quantize(Decimal(1).scaleb(-minor_units(currency)))


class Runner:
    def __init__(self, org, owner):
        self.org, self.owner = org, owner
        self.customers = [CustomerFactory(organization=org, currency=c) for c in CURRENCIES]
        self.acc = system_accounts(org)
        self.refused = 0

    def nth(self, queryset, i):
        rows = list(queryset.order_by("pk").values_list("pk", flat=True))
        return queryset.model.objects.get(pk=rows[i % len(rows)]) if rows else None

    def run(self, op) -> str:
        """Do the operation; "skipped" when there was nothing for it to act on."""
        return getattr(self, "op_" + op[0])(*op[1:]) or "done"

    def op_invoice(self, c, n, days_ago):
        customer = self.customers[c]
        day = TODAY - timedelta(days=days_ago)
        issued(self.org, customer, [("Work", "1", str(money(n, customer.currency)), None)], issue_date=day,
               due_date=day + timedelta(days=14))

    def op_pay(self, c, n, mode, f):
        customer = self.customers[c]
        amount = money(n, customer.currency)
        allocation = mode
        if mode == "manual":
            open_ = list(Invoice.objects.filter(customer=customer).open().order_by("pk"))
            allocation = {i.pk: portion(i.amount_due, f, customer.currency) for i in open_[:2]}
        record_payment(self.org, customer, amount=amount, currency=customer.currency, received_date=TODAY,
                       method="bank_transfer", deposit_account=self.acc["bank"], idempotency_key=uuid.uuid4().hex,
                       allocation=allocation)

    def op_apply(self, i, mode, f):
        payment = self.nth(Payment.objects.filter(organization=self.org), i)
        if payment is None:
            return "skipped"
        allocation = mode
        if mode == "manual":
            open_ = list(Invoice.objects.filter(customer=payment.customer).open().order_by("-pk"))
            allocation = {inv.pk: portion(inv.amount_due, f, payment.currency) for inv in open_[:2]}
        apply_source(payment, allocation, idempotency_key=uuid.uuid4().hex)

    def op_unapply(self, i):
        allocation = self.nth(Allocation.objects.filter(organization=self.org, amount__gt=0), i)
        if allocation is None:
            return "skipped"
        unapply(allocation, "property test")

    def op_refund(self, i, f):
        payment = self.nth(Payment.objects.filter(organization=self.org), i)
        if payment is None:
            return "skipped"
        refund_payment(payment, amount=portion(payment.amount, f / 2, payment.currency), refund_date=TODAY,
                       method="bank_transfer", account=self.acc["bank"], idempotency_key=uuid.uuid4().hex)

    def op_reverse(self, i):
        payment = self.nth(Payment.objects.filter(organization=self.org), i)
        if payment is None:
            return "skipped"
        reverse_payment(payment, reason="bounced")

    def op_credit_note(self, c, n):
        customer = self.customers[c]
        credit_amount(customer, money(n, customer.currency), "property test")

    def op_apply_credit(self, i):
        invoice = self.nth(Invoice.objects.filter(organization=self.org), i)
        if invoice is None:
            return "skipped"
        return "done" if apply_unapplied_credit(invoice) else "nothing to apply"

    def op_write_off(self, i, f):
        invoice = self.nth(Invoice.objects.filter(organization=self.org).open(), i)
        if invoice is None:
            return "skipped"
        write_off(invoice, portion(invoice.amount_due, f, invoice.currency), "property test")


def run_sequence(ops):
    org, owner = make_org()
    with transaction.atomic():
        with tenant_context(org, owner):
            runner = Runner(org, owner)
            for op in ops:
                before = snapshot(org)
                try:
                    with transaction.atomic():
                        outcome = runner.run(op)
                except LedgerError:
                    runner.refused += 1
                    event(f"{op[0]} refused")
                    assert snapshot(org) == before, f"refused {op} changed something"
                else:
                    event(f"{op[0]} {outcome}")
                for p in Payment.objects.filter(organization=org):
                    assert 0 <= p.amount_allocated <= p.amount - p.amount_refunded
                assert not Invoice.objects.filter(organization=org, amount_due__lt=0).exists()
            check_invariants(org)
        transaction.set_rollback(True)


invoice_op = st.tuples(st.just("invoice"), customer_ix, st.integers(1, 40_000), st.integers(0, 90))
pay_op = st.tuples(st.just("pay"), customer_ix, st.integers(1, 60_000), st.sampled_from(["auto", "none"]), fraction)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(start=st.lists(st.one_of(invoice_op, pay_op), min_size=2, max_size=6),
       ops=st.lists(operations, min_size=1, max_size=25))
def test_random_payment_sequences_keep_the_invariants(start, ops):
    run_sequence(start + ops)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(
    invoice_op, invoice_op, pay_op,
    st.tuples(st.just("reverse"), pick),
    st.tuples(st.just("unapply"), pick),
    st.tuples(st.just("apply"), pick, st.just("auto"), fraction),
), min_size=5, max_size=30))
def test_reversal_heavy_sequences_keep_the_invariants(ops):
    run_sequence(ops)
