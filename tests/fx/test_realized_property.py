"""Issue 17's property (item 3): for random sequences of invoices, partial payments at random daily
rates, credit notes and un-applications in a foreign currency (USD, JPY with 0 decimals, KWD with 3):

- every journal entry balances in the transaction currency and in the base currency;
- the realized exchange gain/loss (the base balance of the two accounts, debit positive) is the base
  value of what was invoiced and applied minus the base value of what was received and applied;
- an invoice settled by allocations alone carries exactly its booked base value in its allocations;
- un-applying everything returns every account's base balance to what the documents alone booked
  (the realized accounts to zero), and the chain verifies.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger_verify import verify_organization
from accounts.models import JournalLine
from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from accounts.money import minor_units
from invoicing.credit_notes import credit_amount
from ledger_site.tenancy import tenant_context
from payments.allocation import apply, unapply
from payments.models import Allocation, Payment, Refund
from payments.services import NONE, record_payment, refund_payment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db
D = Decimal
DAYS = 40

op = st.one_of(
    st.tuples(st.just("invoice"), st.integers(1, 2_000_000), st.sampled_from([None, "7", "19"]), st.integers(0, 3)),
    st.tuples(st.just("pay"), st.integers(0, 20), st.integers(1, 100), st.integers(0, 3)),
    st.tuples(st.just("credit"), st.integers(0, 20), st.integers(1, 100), st.integers(0, 3)),
    st.tuples(st.just("unapply"), st.integers(0, 50)),
    # Pay more than the part, refund the excess first, then apply the part: the payment is spent.
    st.tuples(st.just("overpay"), st.integers(0, 20), st.integers(1, 100), st.integers(1, 500_000), st.integers(0, 3)),
)


def _part(due: Decimal, percent: int, currency: str) -> Decimal:
    q = D(1).scaleb(-minor_units(currency))
    return max(q, (due * percent / 100).quantize(q)) if due > 0 else D(0)


def _base(**filters) -> Decimal:
    return JournalLine.objects.filter(**filters).aggregate(s=Sum("base_amount"))["s"] or D(0)


def _entries_balance_in_both(org) -> None:
    with connection.cursor() as c:
        c.execute("SELECT entry_id, currency FROM accounts_journalline WHERE organization_id = %s "
                  "GROUP BY entry_id, currency HAVING sum(amount) <> 0", [org.pk])
        assert c.fetchall() == []
        c.execute("SELECT entry_id FROM accounts_journalline WHERE organization_id = %s "
                  "GROUP BY entry_id HAVING sum(base_amount) <> 0 OR count(base_amount) <> count(*)", [org.pk])
        assert c.fetchall() == []


def _run(currency, rates, ops):
    with transaction.atomic():
        org, owner = make_org(base_currency="EUR")
        with tenant_context(org, owner):
            today = today_in(org)
            start = today - timedelta(days=DAYS)
            ExchangeRate.objects.bulk_create([
                ExchangeRate(organization=org, currency=currency, day=start + timedelta(days=n), rate=rate)
                for n, rate in enumerate(rates)])
            customer = CustomerFactory(organization=org, currency=currency, payment_terms_days=14)
            bank = system_accounts(org)["bank"]
            q = D(1).scaleb(-minor_units(currency))
            day, invoices = start, []
            for step in ops:
                kind = step[0]
                if kind != "unapply":
                    day = min(today, day + timedelta(days=step[-1]))
                if kind == "invoice":
                    price = D(step[1]) * q
                    invoices.append(issued(org, customer, lines=(("Work", "1", str(price), step[2]),), issue_date=day))
                elif kind == "overpay" and invoices:
                    invoice = invoices[step[1] % len(invoices)]
                    invoice.refresh_from_db()
                    part, extra = _part(invoice.amount_due, step[2], currency), D(step[3]) * q
                    if part <= 0 or day < invoice.issue_date:
                        continue
                    payment = record_payment(org, customer, amount=part + extra, currency=currency, received_date=day,
                                             method="bank_transfer", deposit_account=bank,
                                             idempotency_key=ledger.new_idempotency_key(), allocation=NONE)
                    refund_payment(payment, amount=extra, refund_date=day, method="bank_transfer", account=bank,
                                   idempotency_key=ledger.new_idempotency_key())
                    apply(invoice, Payment.objects.get(pk=payment.pk), part, effective_date=day)
                elif kind in ("pay", "credit") and invoices:
                    invoice = invoices[step[1] % len(invoices)]
                    invoice.refresh_from_db()
                    part = _part(invoice.amount_due, step[2], currency)
                    if part <= 0 or day < invoice.issue_date:
                        continue
                    if kind == "pay":
                        payment = record_payment(org, customer, amount=part, currency=currency, received_date=day,
                                                 method="bank_transfer", deposit_account=bank,
                                                 idempotency_key=ledger.new_idempotency_key(), allocation=NONE)
                        apply(invoice, payment, part, effective_date=day)
                    else:
                        note = credit_amount(customer, part, "property", issue_date=day)
                        apply(invoice, note, part, effective_date=day)
                elif kind == "unapply":
                    live = list(Allocation.objects.filter(invoice__customer=customer, amount__gt=0,
                                                          reversed_by__isnull=True).order_by("pk"))
                    if live:
                        unapply(live[step[1] % len(live)], "property", effective_date=day)
            _check(org, customer, invoices)
        transaction.set_rollback(True)


def _check(org, customer, invoices):
    fx_accounts = {"account__system_key__in": ["fx_gain", "fx_loss"]}
    _entries_balance_in_both(org)
    rows = Allocation.objects.filter(invoice__customer=customer)
    invoiced = rows.aggregate(s=Sum("invoice_base"))["s"] or D(0)
    received = rows.aggregate(s=Sum("source_base"))["s"] or D(0)
    assert _base(**fx_accounts) == invoiced - received
    ar = {"account__system_key": "ar"}
    for payment in Payment.objects.filter(customer=customer):  # a spent payment leaves no base behind
        if payment.unapplied == 0:
            refunds = Refund.objects.filter(payment=payment).values("entry_id")
            taken = (rows.filter(payment=payment).aggregate(s=Sum("source_base"))["s"] or D(0)) + _base(
                entry_id__in=refunds, **ar)
            assert taken == -_base(entry_id=payment.entry_id, **ar), payment
    for invoice in invoices:
        invoice.refresh_from_db()
        if invoice.amount_due == 0:
            booked = JournalLine.objects.get(entry_id=invoice.issue_entry_id, customer=customer).base_amount
            assert Allocation.objects.filter(invoice=invoice).aggregate(s=Sum("invoice_base"))["s"] == booked
    # What the documents alone booked, per account: every line but the realized differences'.
    documents = {key: JournalLine.objects.filter(account__system_key=key)
                 .exclude(entry__source_type="payments.allocation").aggregate(s=Sum("base_amount"))["s"] or D(0)
                 for key in ["ar", "bank", "revenue", "tax", "returns"]}
    for allocation in rows.filter(amount__gt=0, reversed_by__isnull=True):
        unapply(allocation, "property: undo everything", effective_date=allocation.effective_date)
    assert _base(**fx_accounts) == 0
    assert {key: _base(account__system_key=key) for key in documents} == documents
    _entries_balance_in_both(org)
    result = verify_organization(org)
    assert result.ok, result.problems


# A rate per day: base units per unit, a random walk drawn as integers (no floats).
rates_for = {
    "USD": st.lists(st.integers(800_000, 1_100_000).map(lambda n: D(n).scaleb(-6)), min_size=DAYS + 1,
                    max_size=DAYS + 1),
    "JPY": st.lists(st.integers(5_000, 7_500).map(lambda n: D(n).scaleb(-6)), min_size=DAYS + 1, max_size=DAYS + 1),
    "KWD": st.lists(st.integers(2_700_000, 3_200_000).map(lambda n: D(n).scaleb(-6)), min_size=DAYS + 1,
                    max_size=DAYS + 1),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=st.data(), currency=st.sampled_from(["USD", "JPY", "KWD"]),
       ops=st.lists(op, min_size=1, max_size=18))
def test_realized_differences_balance_sum_up_and_undo_exactly(data, currency, ops):
    _run(currency, data.draw(rates_for[currency]), ops)
