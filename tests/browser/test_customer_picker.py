"""In Chromium, an organization with 10,000 customers (far above settings.CUSTOMER_SELECT_MAX):
type part of a name in the new-invoice page, pick a suggestion, see the currency, due date and
live total follow it, save the draft and find the customer again when editing it.
Screenshots land in tests/artifacts/pages/."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Customer
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import assert_every_control_is_labelled, sign_in
from tests.factories import make_org
from tests.ledger_helpers import flat_rates

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 10_000


@pytest.fixture
def big_shop(transactional_db):
    """Made before the browser starts: Playwright's event loop makes the thread async."""
    org, owner = make_org(name="Wholesale Flowers", slug="wholesale")
    with tenant_context(org, owner):
        Customer.objects.bulk_create(
            [Customer(organization=org, name=f"Customer {n:05d} Trading", code=f"C{n:05d}", currency="EUR")
             for n in range(CUSTOMERS - 3)]
            + [Customer(organization=org, name="Juniper Florists", code="JUNI", currency="GBP", payment_terms_days=14),
               Customer(organization=org, name="Juniper Joinery", code="JJ", currency="EUR"),
               Customer(organization=org, name="Juniper Archive", code="JA", currency="EUR",
                        archived_at=timezone.now())], batch_size=2000)
        juniper = Customer.objects.get(organization=org, code="JUNI")
        flat_rates(org, {"GBP": "1.17"})  # Juniper's GBP documents post with a rate (issue 17)
    return org, owner, juniper


def test_pick_a_customer_by_typing_then_save_the_draft(big_shop, page, capture):
    org, owner, juniper = big_shop
    sign_in(page, owner.email)

    page.goto(f"/o/{org.slug}/invoices/new/")
    assert page.locator("select[name=customer]").count() == 0  # no select of 10,000 options
    assert_every_control_is_labelled(page)
    text, chosen = page.locator("input[name=customer_text]"), page.locator("input[name=customer]")
    text.press_sequentially("junip")
    options = page.locator("#id_customer-list [role=option]")
    expect(options).to_have_count(2)  # the archived Juniper is not offered
    assert options.all_inner_texts() == ["Juniper Florists\nJUNI · GBP", "Juniper Joinery\nJJ · EUR"]
    expect(text).to_have_attribute("aria-expanded", "true")
    capture(page, "customer-picker-suggestions")

    # The keyboard picks the first suggestion; the editor follows the customer's currency and terms.
    text.press("Enter")
    expect(text).to_have_value("Juniper Florists (JUNI)")
    expect(page.locator("#id_customer-list")).to_be_hidden()
    assert chosen.input_value() == str(juniper.pk)
    expect(page.locator("#currency-display")).to_have_text("GBP")
    due = (timezone.localdate() + timezone.timedelta(days=14)).isoformat()
    assert page.input_value("input[name=due_date]") == due
    row = page.locator("#line-rows tr.line-row").first
    row.locator("input[name$=description]").fill("Wedding bouquet")
    row.locator("input[name$=quantity]").fill("2")
    row.locator("input[name$=unit_price]").fill("85.50")
    row.locator("select[name$=tax_rate]").select_option(label="Standard (20%)")
    expect(page.locator("#t-total")).to_have_text("205.20 GBP")  # 171.00 + 34.20 tax

    # Editing the text drops the choice (and matches nobody); a click picks another customer.
    text.press("End")
    text.press("Backspace")
    assert chosen.input_value() == ""
    expect(page.locator("#id_customer-list .picker-empty")).to_have_text(
        "No active customer matches “Juniper Florists (JUNI”.")
    text.fill("")
    text.press_sequentially("joinery")
    expect(options).to_have_count(1)
    options.first.click()
    expect(text).to_have_value("Juniper Joinery (JJ)")
    expect(page.locator("#t-total")).to_have_text("205.20 EUR")
    text.fill("")
    text.press_sequentially("juni")  # the code JUNI first, then the other names
    expect(options.first).to_contain_text("Juniper Florists")
    options.first.click()
    expect(page.locator("#t-total")).to_have_text("205.20 GBP")
    capture(page, "customer-picker-chosen")

    page.click("#save-draft")
    page.wait_for_url(re.compile(r".*/invoices/\d+/$"))
    assert "Draft created." in page.inner_text(".messages")
    assert "Juniper Florists" in page.inner_text("main")
    assert page.inner_text("#amount-total") == "205.20 GBP"

    # Editing the draft shows its customer.
    page.goto(page.url + "edit/")
    expect(text).to_have_value("Juniper Florists (JUNI)")
    assert chosen.input_value() == str(juniper.pk)
    expect(page.locator("#currency-display")).to_have_text("GBP")
    expect(page.locator("#t-total")).to_have_text("205.20 GBP")


@pytest.fixture
def payments_shop(transactional_db, settings):
    """Above a lowered threshold: three customers, two open invoices for Maple Joinery."""
    from tests.factories import CustomerFactory
    from tests.invoicing_helpers import issued

    settings.CUSTOMER_SELECT_MAX = 2
    org, owner = make_org(name="Joinery Supplies", slug="joinery")
    with tenant_context(org, owner):
        maple = CustomerFactory(organization=org, name="Maple Joinery", code="MAPLE", currency="GBP")
        flat_rates(org, {"GBP": "1.17"})
        CustomerFactory(organization=org, name="Oak Joinery", code="OAK")
        CustomerFactory(organization=org, name="Birch Bakery", code="BIRCH")
        invoices = [issued(org, maple, [("Cabinets", "1", amount, None)]) for amount in ("100.00", "60.00")]
    return org, owner, invoices


def test_pick_the_customer_of_a_payment_by_typing(payments_shop, page, capture):
    org, owner, invoices = payments_shop
    sign_in(page, owner.email)

    page.goto(f"/o/{org.slug}/payments/new/")
    assert page.locator("select[name=customer]").count() == 0
    text = page.locator("input[name=customer_text]")
    text.press_sequentially("join")
    options = page.locator("#id_customer-list [role=option]")
    expect(options).to_have_count(2)
    text.press("Escape")  # closes the list; nothing is chosen, nothing is submitted
    expect(page.locator("#id_customer-list")).to_be_hidden()
    assert page.locator("tr.alloc-row").count() == 0
    text.press("ArrowDown")  # opens it again
    expect(options).to_have_count(2)
    options.filter(has_text="Maple Joinery").click()
    # Choosing reloads the allocation screen (a Preview) with the customer's open invoices.
    expect(page.locator("tr.alloc-row")).to_have_count(2)
    expect(text).to_have_value("Maple Joinery (MAPLE)")
    expect(page.locator("small.error")).to_have_count(0)  # no "required" for the amount not typed yet
    assert page.input_value("input[name=currency]") == "GBP"
    page.fill("input[name=amount]", "130")
    assert page.input_value(f"#alloc-{invoices[0].pk}") == "100.00"
    capture(page, "customer-picker-payment")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/payments/\d+/$"))
    assert "130.00 GBP recorded" in page.inner_text(".messages")


@pytest.fixture
def lists_shop(payments_shop):
    """Birch Bakery's invoice and a payment from Maple; Birch archived since."""
    from tests.invoicing_helpers import issued
    from tests.payments.helpers import pay

    org, owner, invoices = payments_shop
    with tenant_context(org, owner):
        birch = Customer.objects.get(organization=org, code="BIRCH")
        issued(org, birch, [("Rolls", "1", "12.00", None)])
        birch.archived_at = timezone.now()
        birch.save(update_fields=["archived_at"])
        pay(org, invoices[0].customer, "25.00", reference="MAPLE-PAY", allocation="none")
    return org, owner


def test_filter_the_lists_by_typing_a_customer(lists_shop, page, capture):
    org, owner = lists_shop
    sign_in(page, owner.email)

    page.goto(f"/o/{org.slug}/invoices/")
    assert page.locator("select[name=customer]").count() == 0
    assert_every_control_is_labelled(page)
    expect(page.locator("table.invoice-table tbody tr")).to_have_count(3)
    text = page.locator("input[name=customer_text]")
    text.press_sequentially("birch")
    options = page.locator("#id_customer-list [role=option]")
    expect(options).to_have_count(1)  # archived, and still offered: its invoices are history
    assert options.first.inner_text() == "Birch Bakery\nBIRCH · EUR archived"
    capture(page, "invoice-list-customer-filter")
    bar, box = page.locator("form.invoice-filters").bounding_box(), text.bounding_box()
    assert box["width"] >= 200 and box["y"] + box["height"] <= bar["y"] + bar["height"]  # fits the bar
    text.press("Enter")  # chooses; does not submit
    expect(text).to_have_value("Birch Bakery (BIRCH)")
    page.click("form.invoice-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*customer_text=Birch.*"))
    expect(page.locator("table.invoice-table tbody tr")).to_have_count(1)
    assert "Birch Bakery" in page.inner_text("table.invoice-table tbody")
    expect(text).to_have_value("Birch Bakery (BIRCH)")

    page.goto(f"/o/{org.slug}/payments/")
    text.press_sequentially("mapl")
    expect(options).to_have_count(1)
    capture(page, "payment-list-customer-filter")
    bar, box = page.locator("form.pay-filters").bounding_box(), text.bounding_box()
    assert box["width"] >= 200 and box["y"] + box["height"] <= bar["y"] + bar["height"]
    options.first.click()
    page.click("form.pay-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*customer_text=Maple.*"))
    assert "MAPLE-PAY" in page.inner_text("main")
    expect(text).to_have_value("Maple Joinery (MAPLE)")
