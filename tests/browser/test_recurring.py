"""In Chromium: set up a monthly schedule on the 31st, preview its next runs, save it, see the
schedule's page with the preview and how the 31st is billed, and bill what is due now.
Screenshots land in tests/artifacts/pages/."""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from invoicing.items import save_item
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agency(transactional_db):
    org, owner = make_org(name="Lantern Agency", slug="lantern")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Harbour Hotel", code="HH", currency="EUR")
        save_item(org, None, {"code": "CARE", "name": "Website care plan", "description": "", "unit": "month",
                              "tax_rate": None}, {"EUR": Decimal("240.00")})
    return org, owner, customer


def test_set_up_a_monthly_schedule_and_see_its_preview(agency, page, capture):
    org, owner, customer = agency
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/invoices/recurring/")
    page.click("text=+ New schedule")
    page.select_option("select[name=customer]", str(customer.pk))
    page.fill("input[name=name]", "Care plan")
    page.select_option("select[name=frequency]", "monthly")
    page.select_option("select[name=day_of_month]", "31")
    start = date.today().replace(day=1)
    page.fill("input[name=start_date]", start.isoformat())
    row = page.locator("#line-rows tr.line-row").first
    row.locator("input[name$=description]").press_sequentially("care")
    page.locator("#item-picker-list [role=option]").first.click()
    row.locator("input[name$=description]").fill("Website care plan, {month}")
    row.locator("select[name$=tax_rate]").select_option(label="Standard (20%)")
    expect(page.locator("#t-total")).to_have_text("288.00 EUR")
    page.click("#preview-runs")
    expect(page.locator("#schedule-preview tr.preview-row")).to_have_count(12)
    expect(page.locator("#schedule-preview tr.preview-row").first).to_contain_text("288.00 EUR")
    capture(page, "schedule-form-preview")

    page.click("#save-schedule")
    page.wait_for_url(re.compile(r".*/recurring/\d+/$"))
    expect(page.locator("#day-note")).to_contain_text("in a month without that day, on its last day")
    expect(page.locator("#schedule-preview tr.preview-row")).to_have_count(12)
    capture(page, "schedule-detail")
    page.set_viewport_size({"width": 390, "height": 844})
    capture(page, "schedule-detail-phone")
    page.set_viewport_size({"width": 1366, "height": 900})

    # The first run (the 31st of the start month, or its last day) is due only once it has come.
    with tenant_context(org, owner):
        assert not Invoice.objects.exists()
