"""Issue 21 point 2 in a real browser: amounts typed as people type them. "1,000.00" in a payment
is previewed and saved (it used to be previewed, then refused with "Enter a number."), "1,250.00"
in the invoice editor is accepted, an ambiguous "1,5" is refused with a message naming the
expected format, and a German organization types "1.000,50". At 1366×900 and 390×844.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Organization
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIEWPORTS = [pytest.param({"width": 1366, "height": 900}, id="desktop"),
             pytest.param({"width": 390, "height": 844}, id="phone")]


def _shop(slug, locale="en_GB"):
    org, owner = make_org(name=f"Amounts {slug}", slug=slug)
    with tenant_context(org):
        Organization.objects.filter(pk=org.pk).update(locale=locale)
    org.refresh_from_db()
    today = timezone.localdate()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Birch Studio", code="BIRCH")
        old = issued(org, customer, [("Design", "1", "600.00", None)], issue_date=today - timedelta(days=40),
                     due_date=today - timedelta(days=10))
        new = issued(org, customer, [("Build", "1", "700.00", None)])
    return org, owner, customer, old, new


@pytest.fixture
def english_shop(transactional_db):
    return _shop("amounts-en")


@pytest.fixture
def german_shop(transactional_db):
    return _shop("amounts-de", "de_DE")


def in_org(org, read):
    """Reads in the organization's context: the test connects as the application role (RLS)."""
    with tenant_context(org):
        return read()


def no_horizontal_scroll(page):
    """True when the page does not scroll sideways; otherwise fails naming what sticks out."""
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
        .filter(el => { for (let a = el.parentElement; a; a = a.parentElement) {
            if (getComputedStyle(a).overflowX !== 'visible') return false; } return true; })
        .slice(0, 8).map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))""")
    scrolls = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not scrolls, f"the page scrolls sideways; wider than the screen: {wide}"
    return True


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_grouped_payment_amount_is_previewed_and_saved(english_shop, live_server, page, capture, viewport):
    org, owner, customer, old, new = english_shop
    page.set_viewport_size(viewport)
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)
    page.goto(f"{base}/payments/new/?customer={customer.pk}")

    page.fill("input[name=amount]", "1,5")  # ambiguous in English: nothing is applied
    assert page.input_value(f"#alloc-{old.pk}") == ""
    page.click("button[value=save]")
    page.wait_for_load_state()
    error = page.locator(".field-error, .error, [role=alert]").filter(has_text="1,234.56").first
    assert "point before the decimals" in error.inner_text()
    assert in_org(org, lambda: Payment.objects.filter(organization=org).count()) == 0

    page.fill("input[name=amount]", "1,000.00")
    assert page.input_value(f"#alloc-{old.pk}") == "600.00"
    assert page.input_value(f"#alloc-{new.pk}") == "400.00"
    assert page.locator(".alloc-total").inner_text() == "1,000.00 EUR"
    capture(page, f"daily-amount-payment-{viewport['width']}")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/payments/\d+/$"))
    assert "1,000.00 EUR recorded and applied in full" in page.inner_text(".messages")
    assert in_org(org, lambda: Payment.objects.get(organization=org).amount) == Decimal("1000.00")


@pytest.mark.parametrize("viewport", VIEWPORTS[:1])
def test_invoice_editor_accepts_grouped_prices(english_shop, live_server, page, viewport):
    org, owner, customer, _old, _new = english_shop
    page.set_viewport_size(viewport)
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)
    page.goto(f"{base}/invoices/new/?customer={customer.pk}")
    row = page.locator("#line-rows tr.line-row").first
    row.locator("input[name$=description]").fill("Workshop")
    row.locator("input[name$=quantity]").fill("1")
    row.locator("input[name$=unit_price]").fill("1,250.00")
    row.locator("select[name$=tax_rate]").select_option(index=0)
    assert page.inner_text("#t-subtotal") == "1,250.00 EUR"
    page.click("#save-draft")
    page.wait_for_url(re.compile(r".*/invoices/\d+/$"))
    assert page.inner_text("#amount-total").startswith("1,250.00")
    # the draft opens again with the price as typed, and saves unchanged
    page.goto(page.url + "edit/")
    assert page.locator("#line-rows tr.line-row").first.locator("input[name$=unit_price]").input_value() == "1250"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_german_organization_types_german_amounts(german_shop, live_server, page, capture, viewport):
    org, owner, customer, old, new = german_shop
    page.set_viewport_size(viewport)
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)
    page.goto(f"{base}/payments/new/?customer={customer.pk}")
    assert "600,00 EUR" in page.inner_text(".alloc-table")
    page.fill("input[name=amount]", "1.000,50")
    assert page.input_value(f"#alloc-{old.pk}") == "600,00"
    assert page.input_value(f"#alloc-{new.pk}") == "400,50"
    assert page.locator(".alloc-total").inner_text() == "1.000,50 EUR"
    assert no_horizontal_scroll(page)
    capture(page, f"daily-amount-german-{viewport['width']}")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/payments/\d+/$"))
    assert in_org(org, lambda: Payment.objects.get(organization=org).amount) == Decimal("1000.50")
