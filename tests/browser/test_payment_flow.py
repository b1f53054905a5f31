"""In a real browser: record a partial payment against two invoices (manual amounts, with the live
preview), see both invoices' statuses and the customer's balance change; reverse the payment as
bounced and see the invoices reopen (the older one overdue again) and the balance come back.

Screenshots go to $SCREENSHOT_DIR (default tests/artifacts/pages/, which git ignores).
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_open_invoices(transactional_db):
    """Made before the browser starts: Playwright's event loop makes the thread async."""
    org, owner = make_org(name="Browser Payments", slug="browser-payments")
    today = timezone.localdate()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Maple Joinery", code="MAPLE")
        old = issued(org, customer, [("Cabinets", "1", "100.00", None)], issue_date=today - timedelta(days=45),
                     due_date=today - timedelta(days=15))
        new = issued(org, customer, [("Shelves", "1", "200.00", None)])
    return org, owner, customer, old, new


def balance(page, base, customer):
    page.goto(f"{base}/customers/{customer.pk}/")
    return Decimal(page.get_attribute("[data-panel=ledger-balance] [data-balance]", "data-balance"))


def status_of(page, invoice_number):
    row = page.locator("tr", has_text=invoice_number).first
    return row.locator("[data-status]").first.get_attribute("data-status")


def test_partial_payment_against_two_invoices_then_reversal_reopens_them(two_open_invoices, live_server, page, capture):
    org, owner, customer, old, new = two_open_invoices
    base = f"{live_server.url}/o/{org.slug}"

    sign_in(page, owner.email)
    assert balance(page, base, customer) == Decimal("300.00")

    # 1. Record 150.00: 80.00 to the overdue invoice, 70.00 to the new one, typed by hand.
    page.goto(f"{base}/customers/{customer.pk}/")
    page.click("#payments >> text=Record payment")
    page.wait_for_url(re.compile(r".*/payments/new/\?customer=\d+"))
    assert page.locator("tr.alloc-row").count() == 2
    page.fill("input[name=amount]", "150")
    page.fill("input[name=reference]", "BANK-4471")
    # Automatic allocation (oldest due first) is previewed live as the amount is typed ...
    assert page.input_value(f"#alloc-{old.pk}") == "100.00"
    assert page.input_value(f"#alloc-{new.pk}") == "50.00"
    # ... typing an amount switches to manual.
    page.fill(f"#alloc-{old.pk}", "80")
    page.fill(f"#alloc-{new.pk}", "70")
    assert page.is_checked("input[name=mode][value=manual]")
    row = page.locator(f"tr.alloc-row[data-pk='{old.pk}']")
    assert row.locator(".alloc-new").inner_text() == "20.00 EUR"
    assert page.locator(f"tr.alloc-row[data-pk='{new.pk}'] .alloc-new").inner_text() == "130.00 EUR"
    assert page.locator(".alloc-remaining").inner_text() == "0.00 EUR"
    capture(page, "payment-01-manual-preview")
    # The server-side Preview agrees, and saves nothing.
    page.click("button[value=preview]:not(.pay-implicit)")
    page.wait_for_load_state()
    assert page.locator(f"tr.alloc-row[data-pk='{new.pk}'] .alloc-new").inner_text() == "130.00 EUR"
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/payments/\d+/$"))
    assert "150.00 EUR recorded and applied in full" in page.inner_text(".messages")
    capture(page, "payment-02-detail")
    assert status_of(page, old.number) == "overdue"  # still past due, 20.00 left
    assert status_of(page, new.number) == "partially_paid"
    payment_url = page.url

    # 2. The invoices and the customer's balance changed.
    page.goto(f"{base}/invoices/{new.pk}/")
    assert "applied from payment BANK-4471" in page.content()
    assert balance(page, base, customer) == Decimal("150.00")
    assert page.inner_text("[data-testid=unapplied-credit]") == "0.00 EUR"
    capture(page, "payment-03-customer")

    # 3. The bank returns it: reverse with a reason, after a confirmation page.
    page.goto(payment_url)
    page.click("text=Reverse (bounced)")
    page.wait_for_url(re.compile(r".*/reverse/$"))
    assert old.number in page.inner_text("main") and new.number in page.inner_text("main")
    page.fill("input[name=reason]", "Returned by the bank: account closed")
    capture(page, "payment-04-reverse-confirm")
    page.click("button.btn-danger")
    page.wait_for_url(payment_url)
    assert "Payment reversed" in page.inner_text(".messages")
    assert page.locator("h1 [data-status=reversed]").count() == 1
    capture(page, "payment-05-reversed")

    # 4. Both invoices are open again (the older one overdue), the balance is back.
    page.goto(f"{base}/invoices/{old.pk}/")
    assert "account closed" in page.content()  # on the timeline
    assert balance(page, base, customer) == Decimal("300.00")
    page.goto(f"{base}/payments/new/?customer={customer.pk}")
    assert page.locator(f"tr.alloc-row[data-pk='{old.pk}'] [data-status]").first.get_attribute(
        "data-status") == "overdue"
    assert page.locator(f"tr.alloc-row[data-pk='{new.pk}'] [data-status]").first.get_attribute(
        "data-status") == "open"
    assert page.locator(f"tr.alloc-row[data-pk='{old.pk}'] td.num").first.inner_text() == "100.00 EUR"
