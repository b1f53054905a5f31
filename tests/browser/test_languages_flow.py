"""In a real browser (issue 17 item 6): a user switches the interface to German and issues an invoice
for a French customer in CHF; the pages are in German, the PDF is in French."""

import re
from pathlib import Path

import pytest

from tests.browser.conftest import sign_in
from tests.factories import make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def french_customer(transactional_db):
    """Made before the browser starts: Playwright's event loop makes the thread async."""
    from ledger_site.tenancy import tenant_context
    from tests.factories import CustomerFactory
    from tests.ledger_helpers import flat_rates

    org, owner = make_org(name="Uhrwerk AG", slug="uhrwerk")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Horlogerie Dubois SA", currency="CHF", language="fr")
        flat_rates(org, {"CHF": "1.07"})  # a CHF invoice posts with its rate (issue 17)
    return org, owner, customer


def test_a_german_user_issues_an_invoice_for_a_french_customer_in_chf(french_customer, live_server, page, capture):
    from tests.documents_helpers import pdf_pages_text

    org, owner, customer = french_customer
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)
    assert page.get_attribute("html", "lang") == "en"

    # 1. the interface in German, from the account menu's page
    page.goto(f"{live_server.url}/account/language/")
    page.select_option("select[name=language]", "de")
    page.click("button.btn-primary[type=submit]")
    page.wait_for_selector("text=Ihre Sprache der Oberfläche ist gespeichert.")
    assert page.get_attribute("html", "lang") == "de"
    assert "Abmelden" in page.content()

    # 2. an invoice for the French customer, in CHF
    page.goto(f"{base}/customers/{customer.pk}/")
    assert page.get_attribute("html", "lang") == "de"
    page.click("#customer-invoices a[href*='invoices/new']")
    page.wait_for_url(re.compile(r".*/invoices/new/.*"))
    assert page.inner_text("#currency-display") == "CHF"
    row = page.locator("#line-rows tr.line-row").nth(0)
    row.locator("input[name$=description]").fill("Révision de mouvements")
    row.locator("input[name$=quantity]").fill("3")
    row.locator("input[name$=unit_price]").fill("1250.40")
    page.click("#save-draft")
    page.wait_for_url(re.compile(r".*/invoices/\d+/$"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#issue-invoice")
    page.wait_for_selector(".messages >> text=INV-")
    assert "Abmelden" in page.content()
    capture(page, "invoice_german_interface")

    # 3. the PDF is in French, with the amounts as a French reader writes them
    with page.expect_download() as download_info:
        page.click("#download-pdf")
    pdf = Path(download_info.value.path()).read_bytes()
    text = " ".join(" ".join(pdf_pages_text(pdf)).replace("\u202f", " ").replace("\u00a0", " ").split())
    assert "FACTURE" in text and "Horlogerie Dubois SA" in text and "Révision de mouvements" in text
    assert "3 751,20 CHF" in text, text
    assert "RECHNUNG" not in text and "INVOICE" not in text and "Seite" not in text
