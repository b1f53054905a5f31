"""In Chromium: the revenue report by customer, then by item, with its bars; screenshots at desktop
and phone widths land in tests/artifacts/pages/."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from invoicing.items import save_item
from invoicing.services import issue_invoice
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sales(transactional_db):
    org, owner = make_org(name="Segment Studio", slug="segments")
    with tenant_context(org, owner):
        item = save_item(org, None, {"code": "DES", "name": "Design", "description": "", "unit": "h",
                                     "tax_rate": None}, {"EUR": Decimal("100")})
        for n, (name, hours) in enumerate([("Alpha", "12"), ("Beta", "5"), ("Gamma", "2")]):
            customer = CustomerFactory(organization=org, name=name, code=name.upper(), tags="retail" if n else "eu")
            inv = draft(org, customer, [("Design", hours, "100.00", "20")], issue_date=date(2026, 3, 2))
            inv.lines.update(item=item)
            issue_invoice(inv)
    return org, owner


def test_revenue_by_customer_and_by_item(sales, page, capture):
    org, owner = sales
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/reports/")
    page.click("text=Revenue by customer, tag or item")
    page.fill("input[name=start]", "2026-03-01")
    page.fill("input[name=end]", "2026-03-31")
    page.click("form.filters button[type=submit]")
    rows = page.locator("#revenue-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Alpha (ALPHA)")
    expect(page.locator("#revenue-table tfoot [data-figure=net]")).to_have_text("1,900.00")
    capture(page, "revenue-by-customer")
    page.select_option("select[name=by]", "item")
    page.click("form.filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Design (DES)")
    page.set_viewport_size({"width": 390, "height": 844})
    capture(page, "revenue-by-item-phone")
