"""Passkeys in a real browser (issue 22): Chromium's virtual authenticator (DevTools protocol,
WebAuthn.enable / WebAuthn.addVirtualAuthenticator) stands in for a fingerprint reader. Register a
passkey on the two-factor page, sign out, sign in with the password and then the passkey, under the
Content-Security-Policy, at desktop and phone width."""

import pytest

from accounts.models import Passkey, SignInEvent
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": (1280, 860), "phone": (390, 844)}


def virtual_authenticator(page):
    """A platform authenticator with user verification, as a laptop's fingerprint reader."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    made = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, made["authenticatorId"]


def csp_violations(page) -> list[str]:
    found = []
    page.on("console", lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None)
    return found


def test_register_a_passkey_and_sign_in_with_it(new_page, capture):
    org, owner = make_org(slug="passkey-shop")
    page = new_page()
    violations = csp_violations(page)
    cdp, authenticator = virtual_authenticator(page)
    sign_in(page, owner.email)

    page.goto("/account/two-factor/")
    page.fill("#id_passkey_name", "Test laptop")
    page.click("button[data-passkey-action=register]")
    page.wait_for_selector("#passkey-list >> text=Test laptop")
    assert Passkey.objects.filter(user=owner, name="Test laptop").count() == 1
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    for name, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        capture(page, f"passkeys_settings_{name}")
    page.set_viewport_size({"width": 1280, "height": 860})

    # Sign out; the password alone now leads to the second step, where the passkey finishes it.
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/two-factor/")
    assert page.is_visible("button[data-passkey-action=sign-in]")
    assert not page.is_visible("input[name=code]")  # no authenticator app: the passkey only
    for name, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        capture(page, f"passkeys_second_step_{name}")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.click("button[data-passkey-action=sign-in]")
    page.wait_for_url("**/o/passkey-shop/")
    assert "passkey-shop" in page.url
    assert SignInEvent.objects.filter(user=owner, two_factor=True).exists()
    assert Passkey.objects.get(user=owner).last_used_at is not None

    assert violations == []
    assert org.slug == "passkey-shop"
