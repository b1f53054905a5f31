"""In Chromium: staff draft a quote and number it; the customer opens the signed link in another
browser (no session), accepts; staff see the decision and convert it to an invoice in one click.
Screenshots land in tests/artifacts/pages/."""

import re

import pytest
from playwright.sync_api import expect

from invoicing.models_quotes import Quote
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def joinery(transactional_db):
    org, owner = make_org(name="Oak & Sons Joinery", slug="oak")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Rosa Marin", code="ROSA", currency="EUR")
    return org, owner, customer


def test_the_customer_accepts_a_quote_and_staff_convert_it(joinery, page, new_page, capture):
    org, owner, customer = joinery
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/invoices/quotes/")
    page.click("text=+ New quote")
    page.select_option("select[name=customer]", str(customer.pk))
    row = page.locator("#line-rows tr.line-row").first
    row.locator("input[name$=description]").fill("Oak staircase, fitted")
    row.locator("input[name$=quantity]").fill("1")
    row.locator("input[name$=unit_price]").fill("6400")
    row.locator("select[name$=tax_rate]").select_option(label="Standard (20%)")
    expect(page.locator("#t-total")).to_have_text("7,680.00 EUR")
    page.click("#save-quote")
    page.wait_for_url(re.compile(r".*/quotes/\d+/$"))
    page.click("#quote-send")
    expect(page.locator("#quote-status")).to_have_text("Sent")
    link = page.input_value("#quote-link")
    capture(page, "quote-detail-sent")

    customer_page = new_page()  # the customer: another browser, no session
    customer_page.goto(link)
    expect(customer_page.locator("#quote-total")).to_have_text("7,680.00 EUR")
    capture(customer_page, "quote-public")
    customer_page.set_viewport_size({"width": 390, "height": 844})
    capture(customer_page, "quote-public-phone")
    customer_page.click("#quote-accept")
    expect(customer_page.locator("#quote-decision")).to_contain_text("You accepted this quote")
    expect(customer_page.locator("#quote-accept")).to_have_count(0)
    capture(customer_page, "quote-public-accepted")

    page.reload()
    expect(page.locator("#quote-decision")).to_contain_text("Accepted by the customer")
    expect(page.locator("#quote-decision")).to_contain_text("127.0.0.1")
    page.click("#quote-convert")
    page.wait_for_url(re.compile(r".*/invoices/\d+/$"))
    expect(page.locator("#amount-total")).to_have_text("7,680.00 EUR")
    with tenant_context(org, owner):
        quote = Quote.objects.get()
        assert quote.invoice is not None and quote.invoice.total == quote.total
