"""Issue 17 item 3, refunds: a payment received in another currency than the customer's account is paid
back in the currency it came in, at the day's rate. The refund entry mirrors the receipt through the
currency conversion account (zero in base), clears the base value the receipt booked for what is refunded,
and posts what paying back costs beyond that as a realized exchange difference, in the same entry (the
ledger's one door). Bad input (a missing rate) names the currency and day and writes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger_verify import verify_organization
from accounts.models import JournalEntry, JournalLine
from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from ledger_site.tenancy import tenant_context
from payments.allocation import apply
from payments.models import Allocation, Payment, Refund
from payments.services import PaymentError, record_payment, refund_payment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def eur_org():
    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        yield org, today_in(org), owner


def _rates(org, currency, by_day):
    ExchangeRate.objects.bulk_create([ExchangeRate(organization=org, currency=currency, day=day, rate=D(rate))
                                      for day, rate in by_day.items()])


def _pay(org, customer, amount, currency, day, rate=None):
    return record_payment(org, customer, amount=D(amount), currency=currency, received_date=day,
                          method="bank_transfer", deposit_account=system_accounts(org)["bank"],
                          idempotency_key=ledger.new_idempotency_key(), allocation="none",
                          rate=None if rate is None else D(rate))


def _refund(org, payment, amount, day):
    return refund_payment(Payment.objects.get(pk=payment.pk), amount=D(amount), refund_date=day,
                          method="bank_transfer", account=system_accounts(org)["bank"],
                          idempotency_key=ledger.new_idempotency_key())


def _base(**filters):
    return JournalLine.objects.filter(**filters).aggregate(s=Sum("base_amount"))["s"] or D(0)


def _lines(entry):
    return sorted((line.account.system_key, line.currency, line.amount, line.base_amount)
                  for line in entry.lines.select_related("account"))


def _balances_in_both(org):
    for entry in JournalEntry.objects.filter(organization=org).prefetch_related("lines"):
        per_currency, base = {}, D(0)
        for line in entry.lines.all():
            per_currency[line.currency] = per_currency.get(line.currency, D(0)) + line.amount
            base += line.base_amount
        assert all(v == 0 for v in per_currency.values()), (entry.pk, per_currency)
        assert base == 0, (entry.pk, base)


def test_a_payment_received_in_dollars_is_paid_back_in_dollars_at_the_days_rate(eur_org):
    org, today, owner = eur_org
    gbp = CustomerFactory(organization=org, currency="GBP")
    received = today - timedelta(days=5)
    _rates(org, "GBP", {received: "1.15", today: "1.20"})
    _rates(org, "USD", {received: "0.92", today: "0.90"})
    invoice = issued(org, gbp, lines=(("Work", "1", "100.00", None),), issue_date=received)
    payment = _pay(org, gbp, "130.00", "USD", received)  # 130 USD at 0.92/1.15 = 0.8: 104.00 GBP, 119.60 EUR
    assert (payment.amount, payment.currency, payment.booked_base) == (D("104.00"), "GBP", D("119.60"))
    apply(invoice, payment, D("100.00"))

    refund = _refund(org, payment, "4.00", today)
    # Today 1 GBP = 1.20/0.90 USD: 4.00 GBP goes out as 5.33 USD, worth 4.80 EUR today; the receipt booked
    # those 4.00 GBP at 119.60/104 = 1.15 EUR (4.60 EUR): paying back cost 0.20 EUR more, a realized loss.
    assert (refund.amount, refund.currency) == (D("4.00"), "GBP")
    assert (refund.paid_amount, refund.paid_currency, refund.cross_rate) == (D("5.33"), "USD", D("1.333333333333"))
    assert (refund.out_amount, refund.out_currency) == (D("5.33"), "USD")
    assert _lines(JournalEntry.objects.get(pk=refund.entry_id)) == sorted([
        ("ar", "GBP", D("4.00"), D("4.60")),
        ("fx_conversion", "GBP", D("-4.00"), D("-4.80")), ("fx_conversion", "USD", D("5.33"), D("4.80")),
        ("bank", "USD", D("-5.33"), D("-4.80")),
        ("fx_loss", "USD", D(0), D("0.20"))])
    payment.refresh_from_db()
    assert payment.unapplied == 0
    # Nothing of the payment is left on the receivable in base; the conversion account is zero in base.
    assert _base(customer=gbp) == 0
    assert _base(account__system_key="fx_conversion") == 0
    _balances_in_both(org)
    assert verify_organization(org).ok
    # The payment's page shows what left the account beside the credit refunded.
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("payment_detail", kwargs={"org_slug": org.slug, "pk": payment.pk})).content.decode()
    assert "4.00 GBP" in page and "paid back as 5.33 USD" in page


def test_a_missing_rate_on_the_refund_day_names_the_currency_and_day_and_writes_nothing(eur_org):
    org, today, _owner = eur_org
    gbp = CustomerFactory(organization=org, currency="GBP")
    received = today - timedelta(days=30)
    _rates(org, "GBP", {received: "1.15", today: "1.16"})
    _rates(org, "USD", {received: "0.92"})  # no USD rate within the last 7 days
    payment = _pay(org, gbp, "50.00", "USD", received)
    entries = JournalEntry.objects.count()
    with pytest.raises(PaymentError, match=f"USD exchange rate for {today.isoformat()}"):
        _refund(org, payment, "10.00", today)
    assert JournalEntry.objects.count() == entries and not Refund.objects.exists()
    assert Payment.objects.get(pk=payment.pk).amount_refunded == 0


def test_a_refund_in_the_accounts_own_currency_is_unchanged(eur_org):
    org, today, _owner = eur_org
    usd = CustomerFactory(organization=org, currency="USD")
    _rates(org, "USD", {today - timedelta(days=3): "0.90", today: "0.95"})
    payment = _pay(org, usd, "100.00", "USD", today - timedelta(days=3))
    refund = _refund(org, payment, "40.00", today)
    assert (refund.paid_amount, refund.paid_currency, refund.cross_rate) == (None, "", None)
    # At the payment's own rate: no exchange difference, no conversion account.
    assert _lines(JournalEntry.objects.get(pk=refund.entry_id)) == sorted([
        ("ar", "USD", D("40.00"), D("36.00")), ("bank", "USD", D("-40.00"), D("-36.00"))])


def test_the_database_keeps_the_paid_back_fields_all_set_or_all_empty(eur_org):
    org, today, _owner = eur_org
    gbp = CustomerFactory(organization=org, currency="GBP")
    _rates(org, "GBP", {today: "1.15"})
    _rates(org, "USD", {today: "0.92"})
    payment = _pay(org, gbp, "50.00", "USD", today)
    refund = _refund(org, payment, "10.00", today)
    fields = {f.name: getattr(refund, f.name) for f in Refund._meta.concrete_fields
              if f.name not in ("id", "created_at")}
    for broken in ({"paid_amount": None}, {"paid_currency": ""}, {"paid_currency": "GBP"}, {"cross_rate": D(0)}):
        with pytest.raises(IntegrityError, match="refund_paid_in_other_currency"), transaction.atomic():
            Refund.objects.create(**{**fields, "idempotency_key": ledger.new_idempotency_key(), **broken})


money = st.decimals(min_value=D("1.00"), max_value=D("5000.00"), places=2)
rate = st.decimals(min_value=D("0.05"), max_value=D("20"), places=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(received=money, invoice_total=money, share=st.integers(0, 100), parts=st.integers(1, 3),
       usd_then=rate, usd_now=rate, gbp_then=rate, gbp_inv=rate, gbp_now=rate)
def test_property_refunds_balance_in_both_currencies_and_clear_the_booked_value(
        eur_org, received, invoice_total, share, parts, usd_then, usd_now, gbp_then, gbp_inv, gbp_now):
    """Random receipts in USD for a GBP account, random rates on the invoice's, receipt's and refund's
    days, part applied and the rest paid back in one to three refunds: every entry balances in each
    currency and in base, the conversion account is zero in base, the realized differences are exactly
    what paying back cost beyond what was booked (plus the allocations'), and once everything is applied or
    paid back nothing of the payment is left on the receivable in base."""
    org, today, _owner = eur_org
    with transaction.atomic():
        sid = transaction.savepoint()
        gbp = CustomerFactory(organization=org, currency="GBP")
        inv_day, rec_day = today - timedelta(days=20), today - timedelta(days=10)
        ExchangeRate.objects.filter(organization=org).delete()
        _rates(org, "GBP", {inv_day: gbp_inv, rec_day: gbp_then, today: gbp_now})
        _rates(org, "USD", {rec_day: usd_then, today: usd_now})
        invoice = issued(org, gbp, lines=(("Work", "1", str(invoice_total), None),), issue_date=inv_day)
        try:
            payment = _pay(org, gbp, received, "USD", rec_day)
        except PaymentError:
            transaction.savepoint_rollback(sid)
            return  # converts to less than a penny: refused, nothing to check
        to_apply = min(invoice.amount_due, (payment.amount * share / 100).quantize(D("0.01")))
        if to_apply > 0:
            apply(invoice, payment, to_apply)
        payment.refresh_from_db()
        refunds, left = [], payment.unapplied
        for n in range(parts):
            amount = left if n == parts - 1 else (left / (parts - n)).quantize(D("0.01"))
            if amount <= 0:
                continue
            try:
                refunds.append(_refund(org, payment, amount, today))
            except PaymentError as e:
                assert "smallest" in str(e)  # a penny of GBP that is less than a cent of USD
                continue
            left -= amount
        _balances_in_both(org)
        assert _base(account__system_key="fx_conversion") == 0
        refund_entries = [r.entry_id for r in refunds]
        paid_out = -_base(entry_id__in=refund_entries, account__system_key="bank")
        booked = _base(entry_id__in=refund_entries, account__system_key="ar")
        assert _base(entry_id__in=refund_entries, account__system_key__in=["fx_gain", "fx_loss"]) == paid_out - booked
        for r in refunds:
            assert r.paid_currency == "USD" and r.paid_amount > 0
        if left == 0:
            # Applied or paid back in full: the receivable holds only what the invoice still owes, at its rate.
            invoice.refresh_from_db()
            booked_invoice = ledger.booked_base(invoice.issue_entry_id)
            settled = Allocation.objects.filter(invoice=invoice).aggregate(s=Sum("invoice_base"))["s"] or D(0)
            assert _base(customer=gbp) == booked_invoice - settled
        assert verify_organization(org).ok
        transaction.savepoint_rollback(sid)
