"""Issue 17 item 4: aging in the base currency, every open item converted at the as-of date's rate;
a past date uses that date's rates; a missing rate names the currency and the day."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts import fx
from accounts.models import ExchangeRate, RateSource, Role
from ledger_site.tenancy import tenant_context
from reports.aging import aging, query_for
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = datetime.date.today()
DAY1, DAY2 = TODAY - datetime.timedelta(days=20), TODAY - datetime.timedelta(days=10)


@pytest.fixture
def books():
    org, owner = make_org(name="Books", slug="books")
    with tenant_context(org):
        eur = CustomerFactory(organization=org, currency="EUR", name="Euro GmbH")
        usd = CustomerFactory(organization=org, currency="USD", name="Dollar Inc")
        jpy = CustomerFactory(organization=org, currency="JPY", name="Yen KK")
        # The invoices are posted at their issue day's rates (issue 17: no foreign posting without one);
        # those rates are then taken away, so the report's own lookups are what these tests see.
        issue_day = DAY1 - datetime.timedelta(days=5)
        fx.save_rates(org, [fx.RateRow(issue_day, "USD", D("0.9")), fx.RateRow(issue_day, "JPY", D("0.0061"))],
                      RateSource.MANUAL)
        one = (("Work", "1", "100.00", "0"),)
        issued(org, eur, lines=one, issue_date=DAY1 - datetime.timedelta(days=5), due_date=DAY1)
        issued(org, usd, lines=(("Work", "1", "1000.00", "0"),), issue_date=DAY1 - datetime.timedelta(days=5),
               due_date=DAY1)
        issued(org, jpy, lines=(("Work", "1", "33333", "0"),), issue_date=DAY1 - datetime.timedelta(days=5),
               due_date=DAY1)
        ExchangeRate.objects.filter(organization=org, day=issue_day).delete()
        fx.save_rates(org, [fx.RateRow(DAY1, "USD", D("0.9")), fx.RateRow(DAY2, "USD", D("0.8")),
                            fx.RateRow(DAY1, "JPY", D("0.0061")), fx.RateRow(DAY2, "JPY", D("0.00605"))],
                      RateSource.MANUAL)
    return org, owner


def totals(org, day):
    with tenant_context(org):
        report = aging(org, query_for(org, day, in_base=True))
    return {r.name: r.total for r in report.rows}, report


def test_base_aging_converts_each_item_at_the_as_of_rate(books):
    org, _ = books
    rows, report = totals(org, DAY1)
    assert rows == {"Euro GmbH": D("100.00"), "Dollar Inc": D("900.00"), "Yen KK": D("203.33")}
    assert report.currency == "EUR" and report.everything.total == D("1203.33") and report.reconciles
    rows, _report = totals(org, DAY2 + datetime.timedelta(days=3))  # a past date: that week's rates
    assert rows == {"Euro GmbH": D("100.00"), "Dollar Inc": D("800.00"), "Yen KK": D("201.66")}  # 201.664…


def test_the_per_currency_view_is_unchanged_and_still_reconciles(books):
    org, _ = books
    with tenant_context(org):
        report = aging(org, query_for(org, DAY2, currency="USD"))
    assert [r.total for r in report.rows] == [D("1000.00")] and report.reconciles and not report.in_base


def test_a_missing_rate_names_currency_and_day(books):
    org, _ = books
    early = DAY1 - datetime.timedelta(days=1)
    with tenant_context(org), pytest.raises(fx.MissingRate, match=f"no JPY exchange rate for {early.isoformat()}"):
        aging(org, query_for(org, early, in_base=True))


def test_the_page_offers_all_in_base_and_falls_back_with_a_message(books):
    org, _ = books
    client = Client()
    client.force_login(add_member(org, Role.VIEWER))
    url = reverse("aging_report", kwargs={"org_slug": org.slug})
    page = client.get(url, {"currency": "*", "as_of": DAY1.isoformat()}).content.decode()
    assert "All, in EUR" in page and 'data-in-base="yes"' in page and "1 USD = 0.9 EUR" in page
    assert "1,203.33" in page
    early = DAY1 - datetime.timedelta(days=1)
    page = client.get(url, {"currency": "*", "as_of": early.isoformat()}).content.decode()
    assert f"no JPY exchange rate for {early.isoformat()}" in page and 'data-in-base="yes"' not in page
    export = client.get(reverse("aging_export", kwargs={"org_slug": org.slug, "fmt": "csv"}),
                        {"currency": "*", "as_of": DAY1.isoformat()})
    assert export.status_code == 200 and b"1203.33" in export.content


def test_the_dashboard_in_the_base_currency(books):
    org, _ = books
    with tenant_context(org):
        issue_day = DAY1 - datetime.timedelta(days=5)  # the invoiced flow is converted at its day's rate
        fx.save_rates(org, [fx.RateRow(TODAY, "USD", D("0.85")), fx.RateRow(TODAY, "JPY", D("0.006")),
                            fx.RateRow(issue_day, "USD", D("0.9")), fx.RateRow(issue_day, "JPY", D("0.0061"))],
                      RateSource.MANUAL)
    client = Client()
    client.force_login(add_member(org, Role.VIEWER))
    url = reverse("dashboard", kwargs={"org_slug": org.slug})
    page = client.get(url, {"currency": "*"}).content.decode()
    # 100 EUR + 1000 USD × 0.85 + 33,333 JPY × 0.006 (199.998 → 200.00)
    assert 'data-in-base="yes"' in page and 'data-figure="outstanding">1,150.00 EUR' in page
    assert "1 USD = 0.85 EUR" in page
    assert 'data-figure="outstanding">100.00 EUR' in client.get(url).content.decode()  # the per-currency view


def test_the_dashboard_says_which_rate_is_missing(books):
    org, _ = books
    client = Client()
    client.force_login(add_member(org, Role.VIEWER))
    page = client.get(reverse("dashboard", kwargs={"org_slug": org.slug}), {"currency": "*"}).content.decode()
    # The flows of the invoices' day (25 days ago) have no rate within the allowed age.
    assert "no JPY exchange rate for " in page and 'data-in-base="yes"' not in page


def test_top_debtors_in_the_base_currency_are_ranked_by_converted_balance(books):
    from reports import dashboard as dash

    org, _ = books
    with tenant_context(org):
        fx.save_rates(org, [fx.RateRow(TODAY, "USD", D("0.05")), fx.RateRow(TODAY, "JPY", D("0.006"))],
                      RateSource.MANUAL, confirm=True)
        top = dash._top_debtors(org, "EUR", TODAY, {"EUR": D(1), "USD": D("0.05"), "JPY": D("0.006")})
    # 33,333 JPY → 200.00; 100 EUR; 1,000 USD → 50.00
    assert [(t["customer"].name, t["balance"]) for t in top] == [
        ("Yen KK", D("200.00")), ("Euro GmbH", D("100.00")), ("Dollar Inc", D("50.00"))]


def test_the_dashboards_grouped_figures_equal_the_per_currency_ones(books):
    from accounts.models import Customer
    from reports import dashboard as dash
    from reports.asof import ar_control, ar_control_by_currency
    from tests.reports import helpers as h

    org, _ = books
    with tenant_context(org):
        issue_day = DAY1 - datetime.timedelta(days=5)  # the flows' day
        fx.save_rates(org, [fx.RateRow(TODAY, "USD", D("0.85")), fx.RateRow(TODAY, "JPY", D("0.006")),
                            fx.RateRow(issue_day, "USD", D("0.9")), fx.RateRow(issue_day, "JPY", D("0.0061"))],
                      RateSource.MANUAL)
        usd = Customer.objects.get(organization=org, currency="USD")
        eur = Customer.objects.get(organization=org, currency="EUR")
        h.pay(org, usd, "70.00", TODAY, allocation="none")
        h.pay(org, eur, "5.00", TODAY, allocation="none")
        unapplied, control = dash.unapplied_by_currency(org), ar_control_by_currency(org, TODAY)
        assert unapplied == {"USD": D("70.00"), "EUR": D("5.00")}
        assert {c: dash.unapplied_now(org, c) for c in ["EUR", "USD", "JPY"]} == {
            "EUR": D("5.00"), "USD": D("70.00"), "JPY": D("0")}
        assert control == {c: ar_control(org, TODAY, c) for c in ["EUR", "USD", "JPY"]}
        assert control["USD"] == D("930.00")
        board = dash.build(org, "EUR", TODAY, in_base=True)
    # 70 USD × 0.85 + 5 EUR; 95 EUR + 930 USD × 0.85 + 33,333 JPY × 0.006
    assert board.unapplied == D("64.50") and board.outstanding == D("95.00") + D("790.50") + D("200.00")


def test_the_page_states_the_rounding_rule_of_its_totals(books):
    org, _ = books
    with tenant_context(org):
        fx.save_rates(org, [fx.RateRow(TODAY, "USD", D("0.85")), fx.RateRow(TODAY, "JPY", D("0.006"))],
                      RateSource.MANUAL)
    client = Client()
    client.force_login(add_member(org, Role.VIEWER))
    url = reverse("aging_report", kwargs={"org_slug": org.slug})
    today = client.get(url, {"currency": "*"}).content.decode()
    assert 'data-rounding="due-date"' in today and "converted per currency and due date over all customers" in today
    past = client.get(url, {"currency": "*", "as_of": DAY1.isoformat()}).content.decode()
    assert 'data-rounding="rows"' in past and "the totals row is the sum of the rows" in past
    assert "data-rounding" not in client.get(url, {"currency": "USD"}).content.decode()


def test_the_dashboards_open_invoices_in_base_are_the_row_by_row_conversion(books):
    from accounts.money import round_money
    from reports import dashboard as dash
    from reports.models import ReportSettings

    org, _ = books
    with tenant_context(org):
        issue_day = DAY1 - datetime.timedelta(days=5)
        fx.save_rates(org, [fx.RateRow(TODAY, "USD", D("0.85")), fx.RateRow(TODAY, "JPY", D("0.006")),
                            fx.RateRow(issue_day, "USD", D("0.9")), fx.RateRow(issue_day, "JPY", D("0.0061"))],
                      RateSource.MANUAL)
        board = dash.build(org, "EUR", TODAY, in_base=True)
        check = dash.Dashboard(currency="EUR", today=TODAY, in_base=True)
        dash._open_summary(org, check, ReportSettings.for_org(org).limits,
                           lambda amount, cur: round_money(amount * board.rates[cur], "EUR"))
    figures = ("bucket_amounts", "open_invoices", "open_count", "overdue", "overdue_count", "due_soon")
    assert [getattr(board, f) for f in figures] == [getattr(check, f) for f in figures]
    assert board.open_invoices == D("100.00") + D("850.00") + D("200.00") and board.open_count == 3
