"""In a real browser, on the demo organization (`manage.py seed_demo`): the dashboard loads with its
charts; from the aging report a cell drills down to its invoices and on to an invoice.

Screenshots go to tests/artifacts/pages/ (git ignores it) for people to look at.
"""

import pytest
from django.core.management import call_command

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    """Seeded before the browser starts (Playwright's event loop makes the thread async)."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - closed with the process


def test_dashboard_loads_with_charts_for_the_demo_organization(demo, page, live_server, capture):
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD, landing="**/o/demo/")
    assert page.locator("h1").first.inner_text() == "Demo Co"
    charts = page.locator("svg.chart")
    assert charts.count() == 2
    for n in range(2):
        bars = charts.nth(n).locator("rect.bar")
        assert bars.count() >= 5
        heights = [float(bars.nth(i).get_attribute("height")) for i in range(bars.count())]
        assert max(heights) > 20  # the demo year has something to show in both charts
    for figure in ("outstanding", "overdue", "collected", "dso"):
        assert page.locator(f"[data-figure={figure}]").inner_text().strip() not in ("", "—")
    assert page.locator("text=Top 10 debtors").is_visible()
    assert page.locator("table >> nth=0").locator("tbody tr").count() >= 5
    capture(page, "reports-dashboard")


def test_drill_down_from_the_aging_report_to_an_invoice(demo, page, live_server, capture):
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD, landing="**/o/demo/")
    page.click("text=Aging report")
    page.wait_for_url("**/reports/aging/**")
    assert page.locator("[data-reconciles=yes]").is_visible()
    capture(page, "reports-aging")
    cell = page.locator("table.aging tbody a.cell-link:not(.neg)").first
    amount = cell.inner_text()
    cell.click()
    page.wait_for_url("**/reports/aging/customers/**")
    assert page.locator("tfoot td.num").inner_text() == amount  # the cell's invoices add up to the cell
    capture(page, "reports-aging-cell")
    link = page.locator("table tbody td a").first
    number = link.inner_text()
    link.click()
    page.wait_for_url("**/invoices/**")
    assert number in page.locator("h1").inner_text()
    capture(page, "reports-aging-invoice")
