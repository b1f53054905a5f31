"""In a real browser: a break found by the scheduled incremental check shows the owners' banner on
every page, linking to the verification history, which names the broken entry (screenshots at
1366×900 and 390×844 for people)."""

import pytest

from accounts.models import Role
from accounts.tasks import verify_all, verify_recent
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, add_member, make_org
from tests.ledger.test_tamper import triggers_off
from tests.ledger_helpers import sale
from tests.smtp import smtp_server_fixture

smtp_server = pytest.fixture(smtp_server_fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broken_books(transactional_db, owner_sql, smtp_server):
    org, owner = make_org(name="Banner Ltd")
    finance = add_member(org, Role.FINANCE)
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org, name="Acme Ltd")
        for amount in ("120.00", "80.00", "45.50"):
            sale(org, acme, amount)
    verify_all()
    with tenant_context(org, owner):
        sale(org, acme, "99.00")
    with triggers_off(owner_sql, "accounts_journalentry"):
        owner_sql.execute("UPDATE accounts_journalentry SET memo = 'rewritten' WHERE organization_id = %s AND seq = 4",
                          [org.pk])
    found = verify_recent()
    assert (found["broken"], found["mailed"]) == (1, 1) and len(smtp_server.messages) == 1
    return org, owner, finance


def test_a_break_found_by_the_schedule_shows_the_banner_and_the_history(broken_books, page, live_server, capture):
    org, owner, finance = broken_books
    sign_in(page, owner.email)
    banner = page.locator(".ledger-alert")
    assert "The ledger check found a break." in banner.inner_text()
    page.goto(f"/o/{org.slug}/customers/")
    assert page.locator(".ledger-alert").count() == 1
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        capture(page, f"verification-banner-{width}")
    page.click(".ledger-alert a")
    page.wait_for_url(f"**/o/{org.slug}/settings/verification/")
    rows = page.locator("#verification-table tbody tr")
    assert rows.count() == 2
    newest = rows.first.inner_text()
    assert "Incremental" in newest and "Broken" in newest and "entry #4: hash does not match" in newest
    assert "#4–#4" in newest
    assert "Full" in rows.nth(1).inner_text() and "OK" in rows.nth(1).inner_text()
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        capture(page, f"verification-history-{width}")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the history scrolls sideways at {width}px"
