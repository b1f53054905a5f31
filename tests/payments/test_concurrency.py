"""Concurrency: payments allocated to the same invoice at the same moment never over-pay it; the
same idempotency key recorded twice at once records once; a double-clicked reversal reverses once.

Threads run through tests.concurrency.run_at_once (one connection each, in the organization's
context); rows are committed, so these are transactional tests.
"""

import uuid
from datetime import date
from decimal import Decimal

import pytest

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError
from accounts.models import JournalEntry
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.allocation import apply
from payments.models import Allocation, Payment
from payments.services import record_payment, reverse_payment
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import check_invariants

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def payment_race_org():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        bank = system_accounts(org)["bank"]
    return org, owner, customer, bank


def _pay(org, customer, bank, amount, key=None, allocation="none"):
    return record_payment(org, customer, amount=D(amount), currency="EUR", received_date=date.today(),
                          method="bank_transfer", deposit_account=bank, idempotency_key=key or uuid.uuid4().hex,
                          allocation=allocation)


def test_two_payments_applied_to_one_invoice_at_once_never_overpay_it(payment_race_org):
    org, owner, customer, bank = payment_race_org
    with tenant_context(org, owner):
        invoice = issued(org, customer, [("Work", "1", "100.00", None)])
        payments = [_pay(org, customer, bank, "70.00") for _ in range(2)]

    def applier(i):
        try:
            return ("applied", apply(invoice, payments[i], D("70.00")).pk)
        except LedgerError as e:
            return ("refused", str(e))

    outcomes = run_at_once(2, applier, org=org)
    assert sorted(kind for kind, _ in outcomes) == ["applied", "refused"], outcomes
    assert "more than" in next(msg for kind, msg in outcomes if kind == "refused")
    with tenant_context(org):
        invoice = Invoice.objects.get(pk=invoice.pk)
        assert (invoice.amount_paid, invoice.amount_due) == (D("70.00"), D("30.00"))
        check_invariants(org)


def test_many_auto_allocated_payments_at_once_pay_exactly_what_is_due(payment_race_org):
    """Eight payments of 40.00 recorded at the same moment against three invoices of 100.00,
    automatic allocation: 300.00 applied in total, never more per invoice, the rest unapplied."""
    org, owner, customer, bank = payment_race_org
    with tenant_context(org, owner):
        invoices = [issued(org, customer, [("Work", "1", "100.00", None)]) for _ in range(3)]

    run_at_once(8, lambda _: _pay(org, customer, bank, "40.00", allocation="auto"), org=org)
    with tenant_context(org):
        assert all(Invoice.objects.get(pk=i.pk).amount_due == 0 for i in invoices)
        assert sum(p.amount_allocated for p in Payment.objects.filter(organization=org)) == D("300.00")
        assert sum(p.unapplied for p in Payment.objects.filter(organization=org)) == D("20.00")
        assert ledger.customer_balance(customer) == D("-20.00")
        check_invariants(org)


def test_the_same_idempotency_key_at_once_records_one_payment(payment_race_org):
    org, owner, customer, bank = payment_race_org
    with tenant_context(org, owner):
        invoice = issued(org, customer, [("Work", "1", "100.00", None)])
    key = uuid.uuid4().hex

    results = run_at_once(6, lambda _: _pay(org, customer, bank, "60.00", key=key, allocation="auto").pk, org=org)
    assert len(set(results)) == 1, results
    with tenant_context(org):
        assert Payment.objects.filter(organization=org).count() == 1
        assert Allocation.objects.filter(organization=org).count() == 1
        assert Invoice.objects.get(pk=invoice.pk).amount_due == D("40.00")
        assert JournalEntry.objects.filter(organization=org, source_type="payments.payment").count() == 1
        check_invariants(org)


def test_a_double_clicked_reversal_reverses_once(payment_race_org):
    org, owner, customer, bank = payment_race_org
    with tenant_context(org, owner):
        issued(org, customer, [("Work", "1", "100.00", None)])
        payment = _pay(org, customer, bank, "100.00", allocation="auto")
    key = uuid.uuid4().hex

    def reverser(i):
        try:
            reverse_payment(payment, reason=f"clerk {i}", idempotency_key=key if i < 2 else uuid.uuid4().hex)
        except LedgerError as e:
            return ("refused", str(e))
        return ("reversed", None)

    outcomes = run_at_once(3, reverser, org=org)
    assert sorted(kind for kind, _ in outcomes) == ["refused", "refused", "reversed"], outcomes
    with tenant_context(org):
        assert JournalEntry.objects.filter(reverses_id=payment.entry_id).count() == 1
        assert Allocation.objects.filter(payment=payment, amount__lt=0).count() == 1
        assert ledger.customer_balance(customer) == D("100.00")
        check_invariants(org)
