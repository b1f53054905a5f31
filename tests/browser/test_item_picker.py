"""In Chromium: type part of an item's name in an invoice line, pick it, see the line filled in
the customer's currency (price, unit, tax) and the totals follow; save and find the item on the line.
Screenshots land in tests/artifacts/pages/."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from invoicing.items import save_item, set_archived
from invoicing.models import InvoiceLine, TaxRate
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalogue(transactional_db):
    org, owner = make_org(name="Studio Nine", slug="studio")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Harbour Hotel", code="HH", currency="GBP")
        reduced = TaxRate.objects.create(organization=org, name="Reduced five", percent=Decimal("5"))
        design = save_item(org, None, {"code": "WEB-D", "name": "Web design", "description": "per hour",
                                       "unit": "h", "tax_rate": reduced},
                           {"EUR": Decimal("95.00"), "GBP": Decimal("82.50")})
        save_item(org, None, {"code": "WEB-HOST", "name": "Web hosting", "description": "", "unit": "month",
                              "tax_rate": None}, {"EUR": Decimal("12")})
        old = save_item(org, None, {"code": "WEB-OLD", "name": "Web audit", "description": "", "unit": "",
                                    "tax_rate": None}, {"GBP": Decimal("1")})
        set_archived(old, True)
    return org, owner, customer, design


def test_pick_an_item_by_typing_in_a_line(catalogue, page, capture):
    org, owner, customer, design = catalogue
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/invoices/new/?customer={customer.pk}")
    expect(page.locator("#currency-display")).to_have_text("GBP")
    row = page.locator("#line-rows tr.line-row").first
    description = row.locator("input[name$=description]")
    description.press_sequentially("web")
    options = page.locator("#item-picker-list [role=option]")
    expect(options).to_have_count(2)  # the archived audit is not offered
    assert options.all_inner_texts() == ["Web design\nWEB-D · 82.5 GBP / h",
                                         "Web hosting\nWEB-HOST · no GBP price / month"]
    capture(page, "item-picker-suggestions")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#item-picker-list")).to_be_visible()  # moved under the input, in the narrow page
    capture(page, "item-picker-suggestions-phone")
    page.set_viewport_size({"width": 1366, "height": 900})

    description.press("Enter")  # the keyboard picks the first
    expect(page.locator("#item-picker-list")).to_be_hidden()
    expect(description).to_have_value("Web design — per hour")
    expect(row.locator("input[name$=unit_price]")).to_have_value("82.5")
    expect(row.locator("input[name$=unit]")).to_have_value("h")
    expect(row.locator("input[name$=quantity]")).to_have_value("1")
    assert row.locator("select[name$=tax_rate] option:checked").inner_text() == "Reduced five (5%)"
    assert row.locator("input[name$=item]").input_value() == str(design.pk)
    expect(page.locator("#t-total")).to_have_text("86.63 GBP")  # 82.50 + 4.125 → 4.13 tax
    row.locator("input[name$=quantity]").fill("2")
    expect(page.locator("#t-total")).to_have_text("173.25 GBP")

    # Escape closes the list and keeps what was typed (a line typed by hand still works).
    second = page.locator("#line-rows tr.line-row").nth(1)
    second.locator("input[name$=description]").press_sequentially("hosting")
    expect(options).to_have_count(1)
    second.locator("input[name$=description]").press("Escape")
    expect(page.locator("#item-picker-list")).to_be_hidden()
    expect(second.locator("input[name$=description]")).to_have_value("hosting")
    assert second.locator("input[name$=item]").input_value() == ""
    capture(page, "item-picker-chosen")

    second.locator("input[name$=description]").fill("")
    page.click("#save-draft")
    page.wait_for_url(re.compile(r".*/invoices/\d+/$"))
    with tenant_context(org, owner):
        line = InvoiceLine.objects.get(invoice__organization=org)
        assert (line.item_id, line.description, line.quantity, line.unit_price) == (
            design.pk, "Web design — per hour", Decimal("2.000"), Decimal("82.5000"))


def test_the_items_pages(catalogue, page, capture):
    org, owner, _customer, _design = catalogue
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/invoices/items/")
    capture(page, "items-list")
    page.click("text=+ New item")
    page.fill("input[name=code]", "cons")
    page.fill("input[name=name]", "Consulting")
    page.fill("input[name=price_GBP]", "120.005")
    page.click("form.card button[type=submit]")
    expect(page.locator(".has-error small.error")).to_have_text("GBP has 2 decimals; this price has more.")
    capture(page, "item-form-error")
    page.fill("input[name=price_GBP]", "120")
    page.click("form.card button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Item CONS added.")
    expect(page.locator("table")).to_contain_text("120.00 GBP")
