"""In a real browser: create a customer, draft an invoice with three lines while the total updates
live, issue it, and find it in the invoice list. (The PDF, e-mail and public-link steps are
covered by the documents tests.)

Screenshots go to $SCREENSHOT_DIR (default tests/artifacts/pages/, which git ignores).
"""

import re

import pytest
from django.utils import timezone

from tests.browser.conftest import sign_in
from tests.factories import make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop_owner(transactional_db):
    """Made before the browser starts: Playwright's event loop makes the thread async."""
    return make_org(name="Browser Bakery", slug="browser-bakery")


def test_create_customer_draft_invoice_with_live_total_issue_and_list(shop_owner, live_server, page, capture):
    org, owner = shop_owner
    base = f"{live_server.url}/o/{org.slug}"

    sign_in(page, owner.email)

    # 1. a customer
    page.goto(f"{base}/customers/new/")
    page.fill("input[name=name]", "Juniper Florists")
    page.fill("input[name=code]", "JUNI")
    page.fill("input[name=billing_emails]", "accounts@juniper.example")
    page.select_option("select[name=currency]", "EUR")
    page.fill("input[name=payment_terms_days]", "14")
    page.click("button.btn-primary[type=submit]")
    page.wait_for_url(re.compile(r".*/customers/\d+/$"))
    assert "Juniper Florists" in page.inner_text("h1")

    # 2. a draft with three lines, from the customer's page
    page.click("#customer-invoices >> text=New invoice")
    page.wait_for_url(re.compile(r".*/invoices/new/.*"))
    assert page.inner_text("#currency-display") == "EUR"
    expected_due = (timezone.localdate() + timezone.timedelta(days=14)).isoformat()
    assert page.input_value("input[name=due_date]") == expected_due
    assert page.is_hidden("#recalculate")  # totals are live, no need to recalculate
    rows = page.locator("#line-rows tr.line-row")
    assert rows.count() == 3
    lines = [("Wedding bouquet", "2", "85.50", "20"), ("Table arrangements", "6", "24.99", "20"),
             ("Delivery", "1", "15", "0")]
    for n, (description, qty, price, tax) in enumerate(lines):
        row = rows.nth(n)
        row.locator("input[name$=description]").fill(description)
        row.locator("input[name$=quantity]").fill(qty)
        row.locator("input[name$=unit_price]").fill(price)
        row.locator("select[name$=tax_rate]").select_option(label=f"{'Standard' if tax == '20' else 'Zero-rated'}"
                                                            f" ({tax}%)")
        if n == 0:
            # the total follows the first line as it is typed
            assert page.inner_text("#t-total") == "205.20 EUR"  # 171.00 + 34.20 tax
    # 171.00 + 149.94 + 15.00 = 335.94; tax 20% of 320.94 = 64.19 (34.20 + 29.99); total 400.13
    assert page.inner_text("#t-subtotal") == "335.94 EUR"
    assert page.inner_text("#t-total") == "400.13 EUR"
    page.fill("input[name=discount_percent]", "10")
    # per line: 153.90 + 134.95 (134.946) + 13.50; tax 30.78 + 26.99 = 57.77; total 360.12
    assert page.inner_text("#t-total") == "360.12 EUR"
    page.fill("input[name=discount_percent]", "0")
    assert page.inner_text("#t-total") == "400.13 EUR"
    # a fourth line added in the page, then removed again
    page.click("#add-line")
    assert rows.count() == 4
    rows.nth(3).locator("input[name$=description]").fill("Extra vase")
    rows.nth(3).locator("input[name$=quantity]").fill("1")
    rows.nth(3).locator("input[name$=unit_price]").fill("10")
    assert page.inner_text("#t-total") != "400.13 EUR"
    rows.nth(3).locator("input[name$=DELETE]").check()
    assert page.inner_text("#t-total") == "400.13 EUR"
    page.fill("input[name=reference]", "PO-2024-117")
    capture(page, "invoice_editor")
    page.click("#save-draft")
    page.wait_for_url(re.compile(r".*/invoices/\d+/$"))
    assert "Draft created." in page.inner_text(".messages")
    assert page.inner_text("#amount-total") == "400.13 EUR"  # the server agrees with the live total

    # 3. issue it (the confirmation dialog is accepted)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#issue-invoice")
    page.wait_for_selector("text=issued.")
    number = re.search(r"INV-\d{4}-\d{5}", page.inner_text(".messages")).group(0)
    assert page.inner_text("#amount-due") == "400.13 EUR"
    assert "Issued as" in page.inner_text(".timeline")
    capture(page, "invoice_page")

    # 4. it is in the list, with the totals of the filtered set
    page.click("nav.mainnav >> text=Invoices")
    page.wait_for_url(re.compile(r".*/invoices/$"))
    assert page.locator(f"text={number}").count() == 1
    assert "400.13 EUR" in page.inner_text(".list-totals")
    capture(page, "invoice_list")


@pytest.fixture
def over_limit_draft(shop_owner):
    """A customer with a 1,000.00 limit owing 800.00, and a 500.00 draft for it."""
    from decimal import Decimal

    from ledger_site.tenancy import tenant_context
    from tests.factories import CustomerFactory
    from tests.invoicing_helpers import draft, issued

    org, owner = shop_owner
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Maple Catering", credit_limit=Decimal("1000.00"))
        issued(org, customer, (("Catering", "1", "800.00", None),))
        return draft(org, customer, (("Banquet", "1", "500.00", None),), actor=owner)


def test_owner_overrides_credit_control_and_sees_it_on_the_timeline(shop_owner, over_limit_draft, live_server,
                                                                     page, capture):
    org, owner = shop_owner
    sign_in(page, owner.email)

    page.goto(f"{live_server.url}/o/{org.slug}/invoices/{over_limit_draft.pk}/")
    warning = page.locator("#credit-warning")
    assert "needs an owner’s approval" in warning.inner_text()
    assert page.inner_text("#credit-over-by") == "300.00 EUR"
    assert page.locator("#issue-invoice").count() == 0  # only "Issue anyway", with a reason
    page.click("#issue-anyway")  # an empty reason: the browser keeps the form (required), nothing is sent
    assert page.locator("#credit-warning").count() == 1
    page.fill("#id_credit_override", "Deposit of 500 received by card")
    page.once("dialog", lambda dialog: dialog.dismiss())  # cancelling the confirmation sends nothing
    page.click("#issue-anyway")
    assert page.locator("#credit-warning").count() == 1 and "Draft" in page.inner_text("h1")
    capture(page, "invoice_credit_warning")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#issue-anyway")
    page.wait_for_selector("text=issued.")
    timeline = page.inner_text(".timeline")
    assert "Credit override" in timeline
    assert "Credit limit overridden by" in timeline and "Deposit of 500 received by card" in timeline
    assert page.locator("#credit-warning").count() == 0
    capture(page, "invoice_credit_override")
