"""Issue 17's property for money received in one currency and applied to invoices in another: for
random sequences of invoices, payments in random currencies (the account's own, the base, a third one;
0, 2 and 3 decimals) at the day's cross rate or one entered, applications and un-applications:

- every journal entry balances in each transaction currency and in the base currency;
- the currency conversion account is zero in the base currency;
- the realized exchange gain/loss equals its recomputation from the documents and the day's rates:
  Σ over allocation rows (invoice's booked base − source's booked base) plus, for money credited to a
  base-currency account at an entered rate, (base credited − base value of the money received);
- un-applying everything leaves only the receipts' own differences, and the chain verifies.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger_verify import verify_organization
from accounts.models import JournalLine
from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from accounts.money import minor_units, round_money
from ledger_site.tenancy import tenant_context
from payments.allocation import apply, unapply
from payments.models import Allocation, Payment
from payments.services import NONE, record_payment
from tests.factories import CustomerFactory, make_org
from tests.fx.test_realized_property import _entries_balance_in_both
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db
D = Decimal
DAYS = 30
FOREIGN = ["USD", "JPY", "KWD", "GBP"]
RANGE = {"USD": (800_000, 1_100_000), "JPY": (5_000, 7_500), "KWD": (2_700_000, 3_200_000),
         "GBP": (1_100_000, 1_250_000)}

pay = st.tuples(st.just("pay"), st.sampled_from(["EUR", *FOREIGN]), st.integers(1, 300_000),
               st.one_of(st.none(), st.integers(90, 110)), st.integers(0, 3))
apply_op = st.tuples(st.just("apply"), st.integers(0, 20), st.integers(0, 20), st.integers(1, 100))
op = st.one_of(st.tuples(st.just("invoice"), st.integers(1, 500_000), st.integers(0, 3)), pay, pay, apply_op,
               apply_op, st.tuples(st.just("unapply"), st.integers(0, 50)))


def _base(**filters) -> Decimal:
    return JournalLine.objects.filter(**filters).aggregate(s=Sum("base_amount"))["s"] or D(0)


def _run(account_currency, rates, ops):
    with transaction.atomic():
        org, owner = make_org(base_currency="EUR")
        with tenant_context(org, owner):
            today = today_in(org)
            start = today - timedelta(days=DAYS)
            ExchangeRate.objects.bulk_create([
                ExchangeRate(organization=org, currency=code, day=start + timedelta(days=n), rate=rate)
                for code, series in rates.items() for n, rate in enumerate(series)])

            def rate(code, day):
                return D(1) if code == "EUR" else rates[code][(day - start).days]

            customer = CustomerFactory(organization=org, currency=account_currency, payment_terms_days=14)
            bank = system_accounts(org)["bank"]
            day, invoices, payments, receipt_differences = start, [], [], D(0)
            for step in ops:
                kind = step[0]
                if kind in ("invoice", "pay"):
                    day = min(today, day + timedelta(days=step[-1]))
                if kind == "invoice":
                    price = D(step[1]).scaleb(-minor_units(account_currency))
                    invoices.append(issued(org, customer, lines=(("Work", "1", str(price), None),), issue_date=day))
                elif kind == "pay":
                    code, units, percent = step[1], step[2], step[3]
                    received = D(units).scaleb(-minor_units(code))
                    cross = (rate(code, day) / rate(account_currency, day)).quantize(D("1e-12"))
                    entered = None
                    if percent is not None and code != account_currency:
                        entered = (cross * percent / 100).quantize(D("1e-9"))
                    if round_money(received * (entered or cross), account_currency) <= 0:
                        continue
                    payment = record_payment(org, customer, amount=received, currency=code, received_date=day,
                                             method="bank_transfer", deposit_account=bank, rate=entered,
                                             confirm_rate=True, idempotency_key=ledger.new_idempotency_key(),
                                             allocation=NONE)
                    payments.append(payment)
                    event("received in another currency" if payment.received_currency else "in the account's")
                    if code != account_currency and account_currency == "EUR":
                        # Recomputed here: credited in base minus what the money was worth in base that day.
                        receipt_differences += payment.amount - round_money(received * rate(code, day), "EUR")
                elif kind == "apply" and invoices and payments:
                    invoice = invoices[step[1] % len(invoices)]
                    payment = Payment.objects.get(pk=payments[step[2] % len(payments)].pk)
                    invoice.refresh_from_db()
                    q = D(1).scaleb(-minor_units(account_currency))
                    part = min(invoice.amount_due, payment.unapplied,
                               max(q, (invoice.amount_due * step[3] / 100).quantize(q)))
                    if part > 0:
                        apply(invoice, payment, part, effective_date=max(day, invoice.issue_date,
                                                                         payment.received_date))
                elif kind == "unapply":
                    live = list(Allocation.objects.filter(invoice__customer=customer, amount__gt=0,
                                                          reversed_by__isnull=True).order_by("pk"))
                    if live:
                        unapply(live[step[1] % len(live)], "property", effective_date=day)
            _check(org, customer, receipt_differences)
        transaction.set_rollback(True)


def _check(org, customer, receipt_differences):
    realized = {"account__system_key__in": ["fx_gain", "fx_loss"]}
    _entries_balance_in_both(org)
    assert _base(account__system_key="fx_conversion") == 0
    rows = Allocation.objects.filter(invoice__customer=customer)
    invoiced = rows.aggregate(s=Sum("invoice_base"))["s"] or D(0)
    received = rows.aggregate(s=Sum("source_base"))["s"] or D(0)
    assert _base(**realized) == invoiced - received + receipt_differences
    # The trial balance of every currency in base balances and is each account's base amounts summed.
    tb, unmeasured = ledger.trial_balance_base(org, today_in(org) + timedelta(days=400))
    assert unmeasured == 0 and sum(r.debit for r in tb) == sum(r.credit for r in tb)
    for r in tb:
        assert r.debit - r.credit == _base(account=r.account)
    if invoiced != received:
        event("realized at allocation")
    if receipt_differences:
        event("realized at receipt")
    for allocation in rows.filter(amount__gt=0, reversed_by__isnull=True):
        unapply(allocation, "property: undo everything", effective_date=allocation.effective_date)
    assert _base(**realized) == receipt_differences
    _entries_balance_in_both(org)
    result = verify_organization(org)
    assert result.ok, result.problems


def _series(code):
    low, high = RANGE[code]
    return st.lists(st.integers(low, high).map(lambda n: D(n).scaleb(-6)), min_size=DAYS + 1, max_size=DAYS + 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=st.data(), account_currency=st.sampled_from(["EUR", "USD", "JPY", "KWD"]),
       ops=st.lists(op, min_size=6, max_size=16))
def test_cross_currency_receipts_balance_realize_their_recomputation_and_undo_exactly(data, account_currency, ops):
    rates = {code: data.draw(_series(code)) for code in FOREIGN}
    _run(account_currency, rates, ops)
