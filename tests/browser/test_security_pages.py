"""The security pages as a person sees them, under the Content-Security-Policy (issue 22)."""

import pytest

from invoicing import public
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, UserFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def csp_violations(page) -> list[str]:
    found = []
    page.on("console", lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None)
    return found


def test_signed_in_pages_run_under_the_csp_without_violations(new_page, capture):
    org, owner = make_org(slug="csp-shop")
    page = new_page()
    violations = csp_violations(page)
    sign_in(page, owner.email)
    for path in ("", "customers/", "invoices/", "payments/", "reports/aging/", "reports/", "members/"):
        page.goto(f"/o/csp-shop/{path}")
    assert violations == []


def test_throttled_sign_in_says_how_long_to_wait(new_page, capture, settings):
    user = UserFactory(email="slow@example.com")
    page = new_page()
    for _ in range(settings.LOGIN_FREE_FAILURES + 1):
        page.goto("/login/")
        page.fill("input[name=email]", user.email)
        page.fill("input[name=password]", "wrong-guess")
        page.click("button[type=submit]")
    text = page.inner_text("body")
    assert "Too many failed attempts from this device. Try again in" in text
    for name, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        capture(page, f"security_throttled_{name}")
    # Another client (another browser at another address, behind the trusted proxy) signs in at
    # once. Without its own address it would share 127.0.0.1 with the guesser and wait with it.
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    other = new_page()
    other.set_extra_http_headers({"X-Forwarded-For": "198.51.100.7"})
    sign_in(other, user.email, PASSWORD, landing="**/orgs/new/")


def test_signup_with_a_taken_address_and_an_expired_link(new_page, capture, settings):
    UserFactory(email="taken@example.com")
    page = new_page()
    violations = csp_violations(page)
    page.goto("/signup/")
    for field, value in {"full_name": "Eve", "email": "taken@example.com", "password": "a-long-secret-2026",
                         "name": "Eve Ltd", "slug": "eve-ltd", "base_currency": "EUR", "country": "de"}.items():
        selector = f"[name={field}]"
        if field == "base_currency":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    page.click("button[type=submit]")
    assert "Check your e-mail" in page.inner_text("h1")
    for name, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        capture(page, f"security_signup_taken_{name}")

    org, _owner = make_org(slug="expiring")
    with tenant_context(org):
        from tests.factories import CustomerFactory

        customer = CustomerFactory(organization=org)
        invoice = issued(org, customer, lines=(("Work", "1", "100.00", None),))
        link = public.ensure_link(invoice)
        pay(org, customer, "100.00")
    settings.PUBLIC_LINK_DAYS_AFTER_SETTLED = 0
    response = page.goto(public.link_path(link))
    assert response.status == 404
    assert "This link has expired" in page.inner_text("h1")
    for name, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        capture(page, f"security_link_expired_{name}")
    assert violations == []


def test_turn_on_two_factor_then_sign_in_with_a_code(new_page, capture):
    import pyotp

    _org, owner = make_org(slug="twofactor")
    page = new_page()
    violations = csp_violations(page)
    sign_in(page, owner.email)
    page.click("details.switcher summary")  # the user menu
    page.click("text=Two-factor sign-in")
    secret = page.inner_text("#two-factor-secret").strip()
    for name, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        capture(page, f"security_two_factor_setup_{name}")
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    assert page.locator("#recovery-codes li").count() == 10
    capture(page, "security_two_factor_codes_phone")
    page.click("text=Done")
    page.click("details.switcher summary")
    page.click("text=Sign out")

    page.goto("/login/")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/two-factor/")
    capture(page, "security_two_factor_login_phone")
    code = pyotp.TOTP(secret).now()
    import time

    while pyotp.TOTP(secret).now() == code:  # the setup used this step's code: wait for the next
        time.sleep(1)
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    page.wait_for_url("**/o/twofactor/")
    assert violations == []
