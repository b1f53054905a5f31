"""In a real browser (issue 20 items 8 and 9): a finance member subscribes to a report e-mail in
Settings → Report e-mails, and opens the overview of their organizations from the switcher. Read
at 1366×900 and 390×844 (screenshots in $SCREENSHOT_DIR)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models import Role
from accounts.money import format_money
from ledger_site.tenancy import tenant_context
from reports.models import ReportSubscription
from tests.browser.conftest import assert_every_control_is_labelled, sign_in
from tests.factories import CustomerFactory, add_member, make_org
from tests.reports.helpers import invoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_subscribe_and_overview_at_desktop_and_phone_width(transactional_db, new_page, capture):
    north, owner_n = make_org(name="Northwind Traders", slug="northwind")
    south, owner_s = make_org(name="Southwind Logistics Holdings", slug="southwind", base_currency="USD")
    finance = add_member(north, Role.FINANCE)
    add_member(south, Role.VIEWER, finance)
    for org, owner, currency in ((north, owner_n, "EUR"), (south, owner_s, "USD")):
        with tenant_context(org, owner):
            today = org.today()
            customer = CustomerFactory(organization=org, name=f"{org.name} customer", currency=currency)
            invoice(org, customer, "1234.50", today - timedelta(days=45), today - timedelta(days=15), actor=owner)

    for width, height in ((1366, 900), (390, 844)):
        page = new_page()
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, finance.email)
        page.goto("/o/northwind/reports/subscriptions/")
        assert_every_control_is_labelled(page)
        page.select_option("select[name=report]", "aging")
        page.select_option("select[name=frequency]", "monthly")
        page.select_option("select[name=file_format]", "xlsx" if width > 1000 else "pdf")
        page.get_by_role("button", name="Subscribe", exact=True).click()
        page.wait_for_selector("text=Subscribed.")
        assert page.locator("table >> text=Aging by customer").count() >= 1
        # Nothing may stick out sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        capture(page, f"report-emails-{width}")

        page.goto("/overview/")
        assert page.locator("text=Northwind Traders").count() >= 1
        assert page.locator("main >> text=Southwind Logistics Holdings").count() == 1
        assert page.locator(f"main >> text={format_money(Decimal('1234.50'), 'EUR')}").count() >= 1
        assert page.locator(f"main >> text={format_money(Decimal('1234.50'), 'USD')}").count() >= 1
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        # Every column visible at once, also on a phone (no sideways scrolling inside the table either).
        assert page.evaluate("[...document.querySelectorAll('main table')].every(t => t.scrollWidth <= "
                             "t.parentElement.clientWidth + 1)")
        assert page.locator("main >> text=DSO: 90.0 days").count() == 2
        capture(page, f"organizations-overview-{width}")

    with tenant_context(north):
        assert sorted(ReportSubscription.objects.values_list("file_format", flat=True)) == ["pdf", "xlsx"]
