"""In Chromium: sign up, sign out, sign in, create a customer, find it by search, create a
second organization from the switcher, see the customer is not there, switch back.
Screenshots of the main pages land in tests/artifacts/pages/."""

import re

import pytest

from accounts.models import Customer, Membership, Role, User
from accounts.org_directory import organization_for_slug
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import assert_every_control_is_labelled, sign_in
from tests.factories import CustomerFactory, add_member, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "grace@harbour.example"
PASSWORD = "harbour-ledger-2026"


def switch_to(page, org_name):
    page.click("details.switcher > summary")
    page.click(f".switcher-menu a:has-text('{org_name}')")


def test_sign_up_sign_in_customer_search_and_organization_switch(page, capture):
    # Sign up.
    page.goto("/signup/")
    assert_every_control_is_labelled(page)
    capture(page, "01-signup")
    page.fill("#id_full_name", "Grace Harbour")
    page.fill("#id_email", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_name", "Harbour Supplies")
    page.fill("#id_slug", "harbour")
    page.select_option("#id_base_currency", "EUR")
    page.fill("#id_country", "ie")
    page.click("button[type=submit]")
    page.wait_for_url("**/o/harbour/")
    assert "Welcome to Ledgerline" in page.inner_text(".messages")
    assert page.inner_text("h1") == "Harbour Supplies"
    capture(page, "02-dashboard-empty")

    # Sign out from the switcher menu.
    page.click("details.switcher > summary")
    page.click("text=Sign out")
    page.wait_for_url("**/login/")

    # A wrong password first, then the right one.
    capture(page, "03-login")
    page.fill("#id_email", EMAIL)
    page.fill("#id_password", "not-it")
    page.click("button[type=submit]")
    assert "not correct" in page.inner_text("[role=alert]")
    capture(page, "04-login-error")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/o/harbour/")

    # Create a customer: first with mistakes, then right.
    page.click("nav.mainnav >> text=Customers")
    page.wait_for_url("**/o/harbour/customers/")
    assert "No customers yet" in page.inner_text("main")
    page.click("text=Add your first customer")
    page.wait_for_url("**/customers/new/")
    assert_every_control_is_labelled(page)
    page.fill("#id_billing_emails", "ap@lighthouse.example, not-an-address")
    page.fill("#id_payment_terms_days", "400")
    page.click("button:has-text('Create customer')")
    errors = page.inner_text("main form")
    assert "This field is required." in errors
    assert "“not-an-address” is not a valid e-mail address." in errors
    assert "at most 365 days" in errors
    capture(page, "05-customer-form-errors")
    page.fill("#id_name", "Lighthouse Provisions")
    page.fill("#id_billing_emails", "ap@lighthouse.example")
    page.fill("#id_payment_terms_days", "14")
    page.fill("#id_credit_limit", "2500")
    page.fill("#id_tags", "marine, wholesale")
    page.click("button:has-text('Create customer')")
    page.wait_for_url(re.compile(r".*/customers/\d+/$"))
    assert "Lighthouse Provisions" in page.inner_text("h1")
    assert "LIGHTH" in page.inner_text("main")  # the suggested code
    capture(page, "06-customer-detail")

    # Find it by search.
    harbour = organization_for_slug("harbour")
    with tenant_context(harbour):
        CustomerFactory(organization=harbour, name="Quayside Cafe", code="QUAY")
    page.click("nav.mainnav >> text=Customers")
    page.fill("#q", "lighth")
    page.press("#q", "Enter")
    page.wait_for_url("**/customers/?q=lighth*")
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 1
    assert "Lighthouse Provisions" in rows.first.inner_text()
    capture(page, "07-customer-search")

    # A second organization from the switcher.
    page.click("details.switcher > summary")
    page.click("text=New organization")
    page.wait_for_url("**/orgs/new/")
    page.fill("#id_name", "Harbour Holdings")
    page.fill("#id_slug", "harbour")  # taken: an inline error
    page.click("button:has-text('Create organization')")
    assert "already taken" in page.inner_text("main form")
    page.fill("#id_slug", "harbour-holdings")
    page.click("button:has-text('Create organization')")
    page.wait_for_url("**/o/harbour-holdings/")

    # Its customer list does not show the first organization's customer.
    page.click("nav.mainnav >> text=Customers")
    assert "No customers yet" in page.inner_text("main")
    page.goto("/o/harbour-holdings/customers/?q=lighth&status=all")
    assert "Lighthouse" not in page.inner_text("main")
    lighthouse = page.evaluate("() => location.pathname")
    assert lighthouse.startswith("/o/harbour-holdings/")

    # Switch back: it is there again.
    switch_to(page, "Harbour Supplies")
    page.wait_for_url("**/o/harbour/")
    page.click("nav.mainnav >> text=Customers")
    assert "Lighthouse Provisions" in page.inner_text("main")

    user = User.objects.get(email=EMAIL)
    with tenant_context(None, user):  # RLS: people see their own memberships
        user_orgs = set(Membership.objects.filter(user=user).values_list("organization__slug", "role"))
    assert user_orgs == {("harbour", Role.OWNER), ("harbour-holdings", Role.OWNER)}


def test_another_organizations_customer_url_shows_not_found(page):
    org_a, owner_a = make_org(name="Alpha", slug="alpha")
    org_b, _ = make_org(name="Beta", slug="beta")
    with tenant_context(org_b):
        theirs = CustomerFactory(organization=org_b, name="Beta Secret")
    sign_in(page, owner_a.email, landing="**/o/alpha/")
    for path in (f"/o/beta/customers/{theirs.pk}/", f"/o/alpha/customers/{theirs.pk}/"):
        response = page.goto(path)
        assert response.status == 404
        assert "Page not found" in page.inner_text("h1")
        assert "Beta Secret" not in page.content()


def test_main_pages_for_people_to_look_at(page, capture):
    """Screenshots of a populated organization: customer list, detail, members, settings."""
    org, owner = make_org(name="Demo Trading", slug="demo-trading")
    add_member(org, Role.FINANCE)
    viewer = add_member(org, Role.VIEWER)
    with tenant_context(org):
        for n, name in enumerate(["Atlantic Fisheries", "Birch & Sons Joinery", "Copperleaf Studio",
                                  "Dune Logistics", "Ember Bakery", "Fjord Outfitters", "Granite Works",
                                  "Harbour Lights Hotel", "Ivy Lane Florists", "Juniper Health"] * 3):
            CustomerFactory(organization=org, name=f"{name} {n // 10 + 1}" if n >= 10 else name,
                            code=f"C{n:03d}", credit_limit=1000 * (n % 4), payment_terms_days=[14, 30, 45][n % 3],
                            tags=["wholesale", "retail, eu", ""][n % 3], contact_person="Pat Doe",
                            billing_address="4 Mill Street\nCork", notes="Prefers e-mail.")
        first = Customer.objects.filter(organization=org).order_by("name").first()
    sign_in(page, owner.email, landing="**/o/demo-trading/")
    capture(page, "10-dashboard")
    page.goto("/o/demo-trading/customers/")
    assert page.locator("table.table tbody tr").count() == 25
    assert "Page 1 of 2" in page.inner_text(".pagination")
    capture(page, "11-customer-list")
    page.goto(f"/o/demo-trading/customers/{first.pk}/")
    capture(page, "12-customer-detail")
    page.goto(f"/o/demo-trading/customers/{first.pk}/edit/")
    assert_every_control_is_labelled(page)
    page.goto("/o/demo-trading/members/")
    assert viewer.email in page.inner_text("main")
    assert_every_control_is_labelled(page)
    capture(page, "13-members")
    page.goto("/o/demo-trading/settings/")
    capture(page, "14-settings")
    page.click("details.switcher > summary")
    capture(page, "15-switcher-open")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/o/demo-trading/customers/")
    capture(page, "16-customer-list-phone")
    page.goto("/signup/")
    capture(page, "17-signup-phone")
