"""In a real browser (issue 20): the dashboard as of the end of last quarter, switching the DSO
formula (the organization's setting and the DSO page's own switch), and drilling from CEI's
inputs down to the invoices and on to one invoice."""

from datetime import timedelta

import pytest
from django.urls import reverse

from ledger_site.tenancy import tenant_context
from reports import dso
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def quarter_book(transactional_db):
    """Made before the browser starts (Playwright's event loop makes the thread async)."""
    org, owner = make_org(name="Quarter Co", slug="quarter-co")
    today = h.today()
    quarter_end = dso.period_start("quarter", today) - timedelta(days=1)
    with tenant_context(org):
        c = CustomerFactory(organization=org, name="Omega Ltd", currency="EUR")
        old = h.invoice(org, c, "1200.00", quarter_end - timedelta(days=120), quarter_end - timedelta(days=90))
        h.invoice(org, c, "800.00", quarter_end - timedelta(days=20), quarter_end + timedelta(days=10))
        h.pay(org, c, "200.00", quarter_end - timedelta(days=5), {old: "200.00"})
        h.invoice(org, c, "5000.00", today)  # after the quarter: must not show as of its end
        expected = dso.figures(dso.load(org, "EUR", quarter_end), dso.period_start("days90", quarter_end),
                               quarter_end)
    return {"org": org, "owner": owner, "end": quarter_end, "expected": expected}


def test_dashboard_as_of_last_quarter_formula_switch_and_cei_drill(quarter_book, page, live_server, capture):
    org, end, expected = quarter_book["org"], quarter_book["end"], quarter_book["expected"]
    sign_in(page, quarter_book["owner"].email)
    page.fill("[data-as-of-form] input[name=as_of]", end.isoformat())
    page.click("[data-as-of-form] button")
    page.wait_for_url(f"**as_of={end.isoformat()}**")
    assert "As it stood at the end of" in page.locator(".as-of-banner").inner_text()
    assert "1,800.00" in page.locator("[data-figure=outstanding]").inner_text()
    assert page.locator("[data-figure=dso]").inner_text() == f"{expected.period_end} days"
    capture(page, "dashboard-as-of-last-quarter")

    # The owner makes count-back the dashboard's headline formula.
    page.goto(reverse("report_settings", kwargs={"org_slug": org.slug}))
    page.select_option("select[name=dso_formula]", "count_back")
    page.click("text=Save settings")
    page.wait_for_selector(".flash")
    page.goto(reverse("dashboard", kwargs={"org_slug": org.slug}) + f"?as_of={end.isoformat()}")
    assert page.locator("[data-dso-formula]").get_attribute("data-dso-formula") == "count_back"
    assert page.locator("[data-figure=dso]").inner_text() == f"{expected.count_back} days"

    # On to the DSO page, as of the same day; its own switch changes the headline.
    page.click("[data-link=dso-report]")
    page.wait_for_url("**/reports/dso/**")
    assert page.locator("[data-figure=dso-count_back]").inner_text() == str(expected.count_back)
    page.select_option("select[name=kind]", "days90")
    page.select_option("select[name=formula]", "average")
    page.click("form.filters button")
    page.wait_for_url("**formula=average**")
    assert page.locator("[data-figure=dso-headline]").inner_text() == f"{expected.average} days"
    assert page.locator("svg.line-chart").count() == 2
    capture(page, "dso-report")

    # Collection KPIs, and from CEI's inputs down to the invoices behind them.
    page.click("text=Collection KPIs")
    page.wait_for_url("**/reports/collection-kpis/**")
    assert page.locator("[data-figure=cei]").inner_text().endswith("%")
    page.click("[data-drill=open_end]")
    page.wait_for_url("**/collection-kpis/invoices/**")
    rows = page.locator("[data-table=kpi-invoices] tbody tr")
    assert rows.count() == 2  # the two invoices open at the quarter's end, not today's 5,000
    assert page.locator("[data-figure=total]").inner_text() == "1,800.00"
    capture(page, "kpi-invoices")
    rows.first.locator("a").click()
    page.wait_for_url("**/invoices/**")
