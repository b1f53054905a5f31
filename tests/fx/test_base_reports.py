"""Issue 17 item 4 (base-currency reporting): the trial balance and the P&L of every currency together
in the base currency, from the base amount on every journal line (the rate each was booked at)."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts import ledger, revaluation
from accounts.chart import system_accounts
from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from ledger_site.tenancy import tenant_context
from payments.services import record_payment
from reports.pnl import ALL_IN_BASE, profit_and_loss
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def books():
    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        today = today_in(org)
        d0 = today.replace(day=1)
        usd = CustomerFactory(organization=org, currency="USD")
        eur = CustomerFactory(organization=org, currency="EUR")
        ExchangeRate.objects.bulk_create([ExchangeRate(organization=org, currency="USD", day=d0, rate=D("0.90")),
                                          ExchangeRate(organization=org, currency="USD", day=today,
                                                       rate=D("0.95"))])
        invoice = issued(org, usd, lines=(("Work", "1", "1000.00", None),), issue_date=d0)  # 900 EUR
        issued(org, eur, lines=(("Work", "1", "200.00", None),), issue_date=d0)
        record_payment(org, usd, amount=D("500.00"), currency="USD", received_date=today,  # 475 EUR: gain 25
                       method="bank_transfer", deposit_account=system_accounts(org)["bank"],
                       idempotency_key=ledger.new_idempotency_key(), allocation={invoice.pk: D("500.00")})
        yield org, owner, d0, today


def test_the_trial_balance_in_base_balances_and_sums_every_currency(books):
    org, owner, d0, today = books
    rows, unmeasured = ledger.trial_balance_base(org, today)
    by_key = {r.account.system_key: (r.debit, r.credit) for r in rows}
    assert unmeasured == 0
    assert by_key["revenue"] == (D(0), D("1100.00"))  # 900 (1000 USD at 0.90) + 200 EUR
    assert by_key["ar"] == (D("650.00"), D(0))  # 900 − 450 (the invoice's booked half) + 200
    assert by_key["bank"] == (D("475.00"), D(0))
    assert by_key["fx_gain"] == (D(0), D("25.00"))
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("trial_balance", kwargs={"org_slug": org.slug}), {"as_of": today.isoformat()})
    text = page.content.decode()
    assert 'data-currency="all"' in text and "All currencies together, in EUR" in text
    assert text.count("✓") >= 3  # EUR, USD and all together: each balanced


def test_the_pnl_in_base_shows_every_currency_and_the_exchange_differences(books):
    org, owner, d0, today = books
    pnl = profit_and_loss(org, d0, today, ALL_IN_BASE)
    income = {line.account.system_key: line.amount for line in pnl.income if line.amount}
    assert income == {"revenue": D("1100.00"), "fx_gain": D("25.00")}
    assert pnl.net == D("1125.00") and pnl.currency == "EUR"
    assert profit_and_loss(org, d0, today, "EUR").net == D("200.00")  # the per-currency views are unchanged
    assert profit_and_loss(org, d0, today, "USD").net == D("1000.00")
    # A revaluation at today's rate (0.95: the open 500 USD are worth 475, booked 450) shows on its own
    # account on its day; its reversal is dated tomorrow, after this period.
    revaluation.post(org, today)
    pnl = profit_and_loss(org, d0, today, ALL_IN_BASE)
    income = {line.account.system_key: line.amount for line in pnl.income if line.amount}
    assert income == {"revenue": D("1100.00"), "fx_gain": D("25.00"), "fx_unrealized_gain": D("25.00")}
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("profit_and_loss", kwargs={"org_slug": org.slug}),
                      {"currency": "*", "start": d0.isoformat(), "end": today.isoformat()})
    text = page.content.decode()
    assert "All currencies, in EUR" in text and 'data-figure="net">1,150.00' in text
