"""Issue 17 item 3, first half: money received in one currency for invoices in another.

The customer's account keeps one currency. Money received in another is converted when it is recorded
(the rate entered, else the day's cross rate through the base currency): the receipt posts the bank in
the currency received and the receivable in the account's, through the currency conversion account
(zero in base). The exchange difference against each invoice is realized when the payment is applied
(payments.allocation) and reversed exactly when it is un-applied; a base-currency account credited at a
rate other than the day's realizes the difference at once. Bad input changes nothing.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError
from accounts.ledger_verify import verify_organization
from accounts.models import Account, JournalEntry, JournalLine
from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from ledger_site.tenancy import tenant_context
from payments.allocation import apply, realized_entry, unapply
from payments.models import Allocation, Payment
from payments.services import record_payment, refund_payment, reverse_payment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db
D = Decimal


def _rates(org, currency, by_day):
    ExchangeRate.objects.bulk_create([ExchangeRate(organization=org, currency=currency, day=day, rate=D(rate))
                                      for day, rate in by_day.items()])


def _pay(org, customer, amount, currency, day, allocation="none", rate=None, confirm_rate=False):
    return record_payment(org, customer, amount=D(amount), currency=currency, received_date=day,
                          method="bank_transfer", deposit_account=system_accounts(org)["bank"],
                          idempotency_key=ledger.new_idempotency_key(), allocation=allocation,
                          rate=None if rate is None else D(rate), confirm_rate=confirm_rate)


def _base(**filters):
    return JournalLine.objects.filter(**filters).aggregate(s=Sum("base_amount"))["s"] or D(0)


def _lines(entry):
    return sorted((line.account.system_key, line.currency, line.amount, line.base_amount)
                  for line in entry.lines.select_related("account"))


def _every_entry_balances_in_both(org):
    for entry in JournalEntry.objects.filter(organization=org).prefetch_related("lines"):
        per_currency = {}
        for line in entry.lines.all():
            per_currency[line.currency] = per_currency.get(line.currency, D(0)) + line.amount
        assert all(v == 0 for v in per_currency.values()), entry
        assert sum(line.base_amount for line in entry.lines.all()) == 0, entry


def _nothing_written(org, entries_before):
    assert JournalEntry.objects.filter(organization=org).count() == entries_before
    assert not Payment.objects.filter(organization=org).exists()


@pytest.fixture
def eur_org():
    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        yield org, today_in(org)


def test_euros_received_for_a_dollar_invoice_at_the_days_rate(eur_org):
    org, today = eur_org
    usd = CustomerFactory(organization=org, currency="USD", payment_terms_days=30)
    d0 = today - timedelta(days=20)
    _rates(org, "USD", {d0: "0.90", today - timedelta(days=2): "0.92"})
    invoice = issued(org, usd, lines=(("Work", "1", "543.48", None),), issue_date=d0)  # booked 489.13 EUR
    payment = _pay(org, usd, "500.00", "EUR", today, allocation={invoice.pk: D("543.48")})
    payment = Payment.objects.get(pk=payment.pk)
    # 500 EUR at 1/0.92 = 1.086956521739 USD per EUR: 543.48 USD credited, worth the 500 EUR received.
    assert (payment.amount, payment.currency) == (D("543.48"), "USD")
    assert (payment.received_amount, payment.received_currency) == (D("500.00"), "EUR")
    assert payment.cross_rate == D("1.086956521739")
    assert payment.booked_base == D("500.00")
    assert _lines(JournalEntry.objects.get(pk=payment.entry_id)) == sorted([
        ("bank", "EUR", D("500.00"), D("500.00")), ("fx_conversion", "EUR", D("-500.00"), D("-500.00")),
        ("fx_conversion", "USD", D("543.48"), D("500.00")), ("ar", "USD", D("-543.48"), D("-500.00"))])
    allocation = Allocation.objects.get(payment=payment)
    assert (allocation.invoice_base, allocation.source_base) == (D("489.13"), D("500.00"))
    gain = realized_entry(allocation)
    assert _lines(gain) == sorted([("ar", "USD", D(0), D("10.87")), ("fx_gain", "USD", D(0), D("-10.87"))])
    invoice.refresh_from_db()
    assert invoice.amount_due == 0
    assert _base(customer=usd) == 0  # settled: nothing left in base on the receivable
    assert _base(account__system_key="fx_conversion") == 0
    assert _base(account__system_key__in=["fx_gain", "fx_loss"]) == D("-10.87")
    _every_entry_balances_in_both(org)
    assert verify_organization(org).ok

    undo = unapply(allocation, "wrong invoice")
    assert realized_entry(undo).reverses_id == gain.pk
    assert _base(account__system_key__in=["fx_gain", "fx_loss"]) == 0
    invoice.refresh_from_db()
    assert invoice.amount_due == D("543.48")
    assert Payment.objects.get(pk=payment.pk).unapplied == D("543.48")
    _every_entry_balances_in_both(org)
    assert verify_organization(org).ok


def test_an_entered_rate_between_two_foreign_currencies(eur_org):
    org, today = eur_org
    gbp = CustomerFactory(organization=org, currency="GBP")
    _rates(org, "GBP", {today - timedelta(days=10): "1.15", today: "1.15"})
    _rates(org, "USD", {today: "0.92"})
    invoice = issued(org, gbp, lines=(("Work", "1", "100.00", None),), issue_date=today - timedelta(days=10))
    # The bank turned 130 USD into 101.40 GBP (0.78); the day's cross rate is 0.92/1.15 = 0.8.
    payment = _pay(org, gbp, "130.00", "USD", today, rate="0.78")
    assert (payment.amount, payment.currency, payment.cross_rate) == (D("101.40"), "GBP", D("0.78"))
    assert payment.booked_base == D("119.60")  # 130 USD at 0.92: what the money is worth
    apply(invoice, payment, D("100.00"))
    allocation = Allocation.objects.get(payment=payment)
    # 100 GBP booked at 1.15 = 115.00; 100 of the 101.40 received-credit at 119.60/101.40.
    assert allocation.invoice_base == D("115.00")
    assert allocation.source_base == (D("100.00") * payment.fx_rate).quantize(D("0.01"))
    assert _base(account__system_key__in=["fx_gain", "fx_loss"]) == allocation.invoice_base - allocation.source_base
    # The rest stays as unapplied credit in GBP and can be refunded in GBP at the payment's rate.
    refund = refund_payment(payment, amount=D("1.40"), refund_date=today, method="bank_transfer",
                            account=system_accounts(org)["bank"], idempotency_key=ledger.new_idempotency_key())
    assert refund.currency == "GBP"
    _every_entry_balances_in_both(org)
    assert verify_organization(org).ok


def test_a_base_currency_account_credited_at_another_rate_realizes_the_difference_at_once(eur_org):
    org, today = eur_org
    eur = CustomerFactory(organization=org, currency="EUR")
    _rates(org, "USD", {today: "0.92"})
    invoice = issued(org, eur, lines=(("Work", "1", "90.00", None),))
    payment = _pay(org, eur, "100.00", "USD", today, rate="0.90", allocation={invoice.pk: D("90.00")})
    assert (payment.amount, payment.fx_rate) == (D("90.00"), D(1))
    # Received 100 USD worth 92 EUR, credited 90 EUR: a gain of 2 EUR, realized by the receipt itself.
    assert _lines(JournalEntry.objects.get(pk=payment.entry_id)) == sorted([
        ("bank", "USD", D("100.00"), D("92.00")), ("fx_conversion", "USD", D("-100.00"), D("-92.00")),
        ("fx_conversion", "EUR", D("90.00"), D("92.00")), ("ar", "EUR", D("-90.00"), D("-90.00")),
        ("fx_gain", "USD", D(0), D("-2.00"))])
    assert realized_entry(Allocation.objects.get(payment=payment)) is None  # same currency: nothing more
    _every_entry_balances_in_both(org)
    assert verify_organization(org).ok


def test_zero_and_three_decimal_currencies(eur_org):
    org, today = eur_org
    jpy = CustomerFactory(organization=org, currency="JPY")
    _rates(org, "JPY", {today - timedelta(days=3): "0.00615"})
    _rates(org, "KWD", {today - timedelta(days=3): "2.987654"})
    invoice = issued(org, jpy, lines=(("Work", "1", "10000", None),), issue_date=today - timedelta(days=3))
    # 20.555 KWD at 2.987654/0.00615 = 485.797398373984 JPY per KWD: 9985.566… → 9986 JPY.
    payment = _pay(org, jpy, "20.555", "KWD", today, allocation={invoice.pk: D("9986")})
    assert (payment.amount, payment.currency) == (D("9986"), "JPY")
    assert payment.booked_base == D("61.41")  # 20.555 × 2.987654 = 61.4112…
    invoice.refresh_from_db()
    assert invoice.amount_due == D("14")
    allocation = Allocation.objects.get(payment=payment)
    assert allocation.source_base == D("61.41")  # the whole payment spent: the rest of its booked value
    _every_entry_balances_in_both(org)
    assert verify_organization(org).ok


def test_reversing_a_cross_currency_payment_mirrors_every_line(eur_org):
    org, today = eur_org
    usd = CustomerFactory(organization=org, currency="USD")
    _rates(org, "USD", {today: "0.92"})
    payment = _pay(org, usd, "100.00", "EUR", today)
    reverse_payment(payment, reason="bounced", idempotency_key=ledger.new_idempotency_key())
    assert _base(account__system_key="bank") == 0
    assert _base(customer=usd) == 0
    assert JournalLine.objects.filter(account__system_key="fx_conversion").aggregate(s=Sum("amount"))["s"] == 0
    assert verify_organization(org).ok


def test_a_missing_rate_names_the_currency_and_day_and_changes_nothing(eur_org):
    org, today = eur_org
    usd = CustomerFactory(organization=org, currency="USD")
    before = JournalEntry.objects.filter(organization=org).count()
    with pytest.raises(LedgerError, match=f"There is no USD exchange rate for {today.isoformat()}"):
        _pay(org, usd, "100.00", "EUR", today)
    _nothing_written(org, before)
    # With a rate entered, the money's own currency still needs its rate of the day (its base value).
    with pytest.raises(LedgerError, match=f"There is no GBP exchange rate for {today.isoformat()}"):
        _pay(org, usd, "100.00", "GBP", today, rate="1.25")
    _nothing_written(org, before)
    assert not Account.objects.filter(organization=org, system_key="fx_conversion").exists()


@pytest.mark.parametrize("rate, message", [
    ("0", "must be above zero"), ("-1.2", "must be above zero"), ("1e12", "is absurd"),
    ("2.5", "more than 1.5× away from the rate of the day"),
])
def test_a_bad_rate_is_refused_and_changes_nothing(eur_org, rate, message):
    org, today = eur_org
    usd = CustomerFactory(organization=org, currency="USD")
    _rates(org, "USD", {today: "0.92"})
    before = JournalEntry.objects.filter(organization=org).count()
    with pytest.raises(LedgerError, match=message):
        _pay(org, usd, "100.00", "EUR", today, rate=rate)
    _nothing_written(org, before)


def test_a_far_rate_goes_through_once_confirmed(eur_org):
    org, today = eur_org
    usd = CustomerFactory(organization=org, currency="USD")
    _rates(org, "USD", {today: "0.92"})
    payment = _pay(org, usd, "100.00", "EUR", today, rate="2.5", confirm_rate=True)
    assert payment.amount == D("250.00")
    assert verify_organization(org).ok


@pytest.mark.parametrize("code, message", [("HRK", "withdrawn"), ("XQZ", "not an active ISO 4217")])
def test_an_unknown_or_withdrawn_currency_is_refused(eur_org, code, message):
    org, today = eur_org
    usd = CustomerFactory(organization=org, currency="USD")
    with pytest.raises(LedgerError, match=message):
        _pay(org, usd, "100.00", code, today)
    _nothing_written(org, 0)


def test_a_rate_for_money_in_the_accounts_own_currency_is_refused(eur_org):
    org, today = eur_org
    eur = CustomerFactory(organization=org, currency="EUR")
    with pytest.raises(LedgerError, match="only for money received in another currency"):
        _pay(org, eur, "100.00", "EUR", today, rate="1.1")
    _nothing_written(org, 0)


def test_the_database_refuses_a_half_described_conversion(eur_org):
    from django.db import IntegrityError, transaction

    from tests.ledger_helpers import receipt

    org, today = eur_org
    eur = CustomerFactory(organization=org, currency="EUR")
    fields = dict(organization=org, customer=eur, amount=D("10.00"), currency="EUR", received_date=today,
                  method="bank_transfer", deposit_account=system_accounts(org)["bank"], fx_rate=D(1))
    for wrong in ({"received_currency": "EUR", "received_amount": D("10.00"), "cross_rate": D(1)},  # its own
                  {"received_currency": "USD", "received_amount": D("10.00")},  # no rate
                  {"received_amount": D("10.00"), "cross_rate": D(1)}):  # no currency
        with pytest.raises(IntegrityError, match="payment_received_in_other_currency"), transaction.atomic():
            Payment.objects.create(entry=receipt(org, eur, "10.00", effective_date=today),
                                   idempotency_key=ledger.new_idempotency_key(), **fields, **wrong)


def test_the_payment_form_records_money_received_in_another_currency():
    import uuid

    from django.test import Client
    from django.urls import reverse

    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        today = today_in(org)
        usd = CustomerFactory(organization=org, currency="USD", name="Dollar Co")
        _rates(org, "USD", {today - timedelta(days=3): "0.92"})
        invoice = issued(org, usd, lines=(("Work", "1", "543.48", None),))
        bank = system_accounts(org)["bank"]
    client = Client()
    client.force_login(owner)
    url = reverse("payment_create", kwargs={"org_slug": org.slug})

    def form(**changes):
        return {"customer": usd.pk, "amount": "543.48", "currency": "USD", "received_date": today.isoformat(),
                "method": "bank_transfer", "deposit_account": bank.pk, "reference": "", "notes": "",
                "received_amount": "500.00", "received_currency": "EUR", "mode": "auto",
                "idempotency_key": uuid.uuid4().hex, "action": "save", **changes}

    page = client.post(url, form(received_currency="USD")).content.decode()
    assert "the customer&#x27;s own currency" in page
    page = client.post(url, form(received_amount="", received_currency="EUR")).content.decode()
    assert "Enter both the amount received and its currency" in page
    far = form(received_amount="200.00")  # 543.48 USD for 200 EUR: 2.7174 against the day's 1.087
    page = client.post(url, far).content.decode()
    assert "away from the rate of the day" in page and 'name="confirm_rate"' in page
    with tenant_context(org, owner):
        assert not Payment.objects.filter(organization=org).exists()
    response = client.post(url, form())
    assert response.status_code == 302
    with tenant_context(org, owner):
        payment = Payment.objects.get(organization=org)
        assert (payment.amount, payment.received_amount, payment.received_currency) == (
            D("543.48"), D("500.00"), "EUR")
        assert payment.cross_rate == D("1.08696")
        invoice.refresh_from_db()
        assert invoice.amount_due == 0
        assert verify_organization(org).ok
    detail = client.get(response.url).content.decode()
    assert "1 EUR = 1.08696 USD" in detail and "500.00 EUR" in detail
