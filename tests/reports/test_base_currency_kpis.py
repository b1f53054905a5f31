"""Issue 17 item 4: DSO and the cash-in forecast of every currency together in the base currency,
each currency converted at the report day's rate (accounts.fx.report_rates, sum_in_base), with the
rates and their day on the page; a missing rate names the currency and the day."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import fx
from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from accounts.money import round_money
from ledger_site.tenancy import tenant_context
from reports import dso
from reports.forecast import ALL, LATER, OVERDUE, WEEKS, forecast, week_invoices_in_base
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db
D = Decimal


def _rate(org, code, day, rate):
    ExchangeRate.objects.create(organization=org, currency=code, day=day, rate=D(rate))


@pytest.fixture
def books():
    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        today = today_in(org)
        d0 = today - timedelta(days=20)
        for code, first, now in (("USD", "0.90", "0.95"), ("JPY", "0.0062", "0.0060")):
            _rate(org, code, d0, first)
            _rate(org, code, today, now)
        usd = CustomerFactory(organization=org, currency="USD")
        jpy = CustomerFactory(organization=org, currency="JPY")
        eur = CustomerFactory(organization=org, currency="EUR")
        issued(org, usd, lines=(("Work", "1", "1000.00", None),), issue_date=d0)
        issued(org, usd, lines=(("Work", "1", "333.33", None),), issue_date=d0 + timedelta(days=5))
        issued(org, jpy, lines=(("Work", "1", "100000", None),), issue_date=d0)
        issued(org, eur, lines=(("Work", "1", "500.00", None),), issue_date=d0)
        yield org, owner, today


RATES = {"EUR": D(1), "USD": D("0.95"), "JPY": D("0.0060")}


def _in_base(values):
    return sum((round_money(v * RATES[c], "EUR") for c, v in values.items()), D(0))


def test_dso_in_base_converts_each_currencys_inputs_at_the_as_of_days_rate(books):
    org, _owner, today = books
    per = {c: dso.for_period(org, c, "days90", today) for c in RATES}
    together = dso.for_period(org, dso.ALL, "days90", today)
    assert together.rates == RATES
    assert together.sales == _in_base({c: d.sales for c, d in per.items()}) == D("2366.66")  # 1266.66+600+500
    assert together.ar_close == _in_base({c: d.ar_close for c, d in per.items()}) == D("2366.66")
    assert together.current == _in_base({c: d.current for c, d in per.items()})
    assert together.period_end == dso.rounded(together.ar_close / together.sales * together.days)
    months = dso.trend(org, dso.ALL, today, "month", 3)
    assert months and all(m.rates == RATES for m in months)


def test_the_forecast_in_base_adds_each_currencys_weeks_at_the_days_rate(books):
    org, _owner, today = books
    per = {c: forecast(org, c) for c in RATES}
    together = forecast(org, ALL)
    assert together.currency == "EUR" and together.rates == RATES
    for i, week in enumerate(together.weeks):
        assert week.amount == _in_base({c: f.weeks[i].amount for c, f in per.items()})
        assert week.count == sum(f.weeks[i].count for f in per.values())
    assert together.later.amount == _in_base({c: f.later.amount for c, f in per.items()})
    assert together.total_13_weeks + together.overdue.amount + together.later.amount == D("2366.66")


def test_the_forecast_week_drill_down_in_base_lists_every_currencys_invoices_at_the_days_rate(books):
    org, owner, today = books
    together = forecast(org, ALL)
    per = {c: forecast(org, c) for c in RATES}
    shown = []
    for index in [OVERDUE, *range(WEEKS), LATER]:
        pick = (lambda f: f.overdue) if index == OVERDUE else (lambda f: f.later) if index == LATER else (
            lambda f, i=index: f.weeks[i])
        rows, count, rates = week_invoices_in_base(org, index)
        assert rates == RATES and count == pick(together).count == len(rows)
        for code, f in per.items():  # each currency's invoices add up to its own week, in its own currency
            assert sum((e.amount for e in rows if e.currency == code), D(0)) == (pick(f).amount or 0)
        assert all(e.base_amount == round_money(e.amount * RATES[e.currency], "EUR") for e in rows)
        assert [e.base_amount for e in rows] == sorted((e.base_amount for e in rows), reverse=True)
        shown += [(index, e) for e in rows]
    assert {e.currency for _i, e in shown} == {"EUR", "USD", "JPY"}
    client = Client()
    client.force_login(owner)
    index, usd = next((i, e) for i, e in shown if e.currency == "USD")
    week = "overdue" if index == OVERDUE else "later" if index == LATER else str(index)
    page = client.get(reverse("forecast_week", kwargs={"org_slug": org.slug, "week": week}),
                      {"currency": "*"}).content.decode()
    assert 'id="base-rates"' in page and "1 USD = 0.95 EUR" in page and ">In EUR</th>" in page
    assert usd.number in page and f"{usd.amount:,.2f} USD" in page
    assert f"<td class=\"num\">{usd.base_amount:,.2f}</td>" in page  # the base column, in EUR
    # The forecast page links its weeks to this drill-down in base.
    forecast_page = client.get(reverse("forecast_report", kwargs={"org_slug": org.slug}),
                               {"currency": "*"}).content.decode()
    assert reverse("forecast_week", kwargs={"org_slug": org.slug, "week": week}) + "?currency=" in forecast_page


def test_the_pages_show_the_rates_and_their_day_and_a_missing_rate_by_name(books):
    org, owner, today = books
    client = Client()
    client.force_login(owner)
    url = reverse("dso_report", kwargs={"org_slug": org.slug})
    text = client.get(url, {"currency": "*", "kind": "days90", "as_of": today.isoformat()}).content.decode()
    assert 'id="base-rates"' in text and "1 USD = 0.95 EUR" in text and "1 JPY = 0.006 EUR" in text
    assert '<option value="*" selected>All, in EUR</option>' in text  # the select says what is shown
    assert "2,366.66 EUR" in text and "data-problem" not in text
    page = client.get(reverse("forecast_report", kwargs={"org_slug": org.slug}), {"currency": "*"}).content.decode()
    assert 'id="base-rates"' in page and "1 USD = 0.95 EUR" in page and "All, in EUR" in page
    old = today - timedelta(days=12)  # the rates of 20 days ago are too old, today's not yet there
    text = client.get(url, {"currency": "*", "kind": "days90", "as_of": old.isoformat()}).content.decode()
    assert "data-problem" in text and f"no JPY exchange rate for {old.isoformat()}" in text
    with tenant_context(org, owner):
        ExchangeRate.objects.filter(organization=org, currency="USD", day=today).delete()
    page = client.get(reverse("forecast_report", kwargs={"org_slug": org.slug}), {"currency": "*"}).content.decode()
    assert f"no USD exchange rate for {today.isoformat()}" in page and 'id="base-rates"' not in page



def test_the_collection_kpis_link_of_the_dso_in_base_opens_without_a_form_error(books):
    """The KPIs have no "all, in base" view: the DSO page's link drops currency=* and keeps the rest."""
    org, owner, today = books
    client = Client()
    client.force_login(owner)
    url = reverse("dso_report", kwargs={"org_slug": org.slug})
    text = client.get(url, {"currency": "*", "kind": "days90", "as_of": today.isoformat()}).content.decode()
    link = re.search(r'href="([^"]*collection-kpis/\?[^"]*)"', text)
    assert link and "currency" not in link.group(1) and f"as_of={today.isoformat()}" in link.group(1)
    page = client.get(link.group(1).replace("&amp;", "&"))
    assert page.status_code == 200 and "data-problem" not in page.content.decode()


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(amounts=st.lists(st.integers(10_000, 5_000_000), min_size=1, max_size=4),
       paid=st.integers(0, 90), rate=st.integers(500_000, 1_500_000).map(lambda n: D(n).scaleb(-6)))
def test_one_foreign_currency_has_the_same_dso_in_base_as_in_its_own(amounts, paid, rate):
    """Converting AR and sales at one rate leaves their ratio: up to rounding, DSO is the same number."""
    from accounts import ledger
    from accounts.chart import system_accounts
    from payments.services import record_payment

    with transaction.atomic():
        org, owner = make_org(base_currency="EUR")
        with tenant_context(org, owner):
            today = today_in(org)
            for back in range(0, 31, 5):  # a rate every five days: every document finds one of its week
                _rate(org, "USD", today - timedelta(days=back), rate)
            customer = CustomerFactory(organization=org, currency="USD")
            for n, cents in enumerate(amounts):
                issued(org, customer, lines=(("Work", "1", str(D(cents).scaleb(-2)), None),),
                       issue_date=today - timedelta(days=25 - 5 * n))
            part = (sum(D(c).scaleb(-2) for c in amounts) * paid / 100).quantize(D("0.01"))
            if part:
                record_payment(org, customer, amount=part, currency="USD", received_date=today,
                               method="bank_transfer", deposit_account=system_accounts(org)["bank"],
                               idempotency_key=ledger.new_idempotency_key())
            own = dso.for_period(org, "USD", "days90", today)
            base = dso.for_period(org, dso.ALL, "days90", today)
            assert base.sales == fx.sum_in_base({"USD": own.sales}, {"USD": rate}, "EUR")
            assert base.ar_close == fx.sum_in_base({"USD": own.ar_close}, {"USD": rate}, "EUR")
            for formula in (dso.PERIOD_END, dso.AVERAGE, dso.COUNT_BACK):
                assert abs(base.value(formula) - own.value(formula)) <= D("0.2"), formula
        transaction.set_rollback(True)
