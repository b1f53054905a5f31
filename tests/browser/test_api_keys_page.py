"""In a real browser: an owner creates an API key (shown once), and revokes it. Screenshots at
1366 and 390 pixels go to $SCREENSHOT_DIR."""

import pytest

from tests.browser.conftest import sign_in
from tests.factories import make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def key_shop(transactional_db):
    return make_org(name="Key Shop", slug="key-shop")


def test_the_api_keys_page_in_a_browser(key_shop, page, capture):
    org, owner = key_shop
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/settings/api-keys/")
    page.fill("input[name=name]", "Web shop")
    page.check("input[value=read_write]")
    page.click("button:has-text('Create key')")
    token = page.locator("[data-testid=api-token]").inner_text().strip()
    assert token.startswith("llk_")
    page.fill("input[name=name]", "Accounting export")
    capture(page, "api-keys-created-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    capture(page, "api-keys-created-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/o/{org.slug}/settings/api-keys/")
    assert page.locator("[data-testid=api-token]").count() == 0
    page.click("button:has-text('Revoke')")
    assert page.locator("text=revoked").count() >= 1
    capture(page, "api-keys-revoked-1366")
