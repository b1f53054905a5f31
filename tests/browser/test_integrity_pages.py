"""In a real browser: the audit log filters by customer; the period lock page closes the books and
shows the refusal of a bad date; both read at 1366×900 and 390×844 (screenshots for people)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.credit_terms import owner_edit
from accounts.models import Role
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import assert_every_control_is_labelled, sign_in
from tests.factories import CustomerFactory, add_member, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def audited_customers(transactional_db):
    org, owner = make_org(name="Integrity Ltd")
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org, name="Acme Ltd", credit_limit=Decimal("1000.00"))
        bolt = CustomerFactory(organization=org, name="Bolt plc")
        acme.credit_limit = Decimal("2500.00")
        with owner_edit(org, owner):  # an owner's change (accounts.credit_terms)
            acme.save()
        bolt.phone = "+44 20 7946 0000"
        bolt.save()
    add_member(org, Role.FINANCE)
    return org, owner, acme, bolt


def sizes(page, capture, name):
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        capture(page, f"{name}-{width}")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} scrolls sideways at {width}px"


def test_the_audit_page_filters_by_customer(audited_customers, page, live_server, capture):
    org, owner, acme, bolt = audited_customers
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/settings/audit/")
    assert page.locator("#audit-table tbody tr").count() >= 4
    assert_every_control_is_labelled(page)
    page.select_option("select[name=customer]", str(acme.pk))
    page.click("form.filters button[type=submit]")
    page.wait_for_url(f"**customer={acme.pk}**")
    rows = page.locator("#audit-table tbody tr")
    text = page.locator("#audit-table").inner_text()
    assert rows.count() == 2 and "2500" in text and "1000" in text and "+44 20" not in text
    sizes(page, capture, "audit-log")


def test_the_period_lock_page_closes_the_books_and_refuses_a_future_date(audited_customers, page, live_server, capture):
    org, owner, *_ = audited_customers
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/settings/period-lock/")
    assert_every_control_is_labelled(page)
    tomorrow = timezone.localdate() + timedelta(days=1)
    page.fill("#close-day", tomorrow.isoformat())
    page.click("text=Close the books")
    assert page.locator(".flash-error").inner_text().startswith("A period can only be closed up to yesterday")
    lock = timezone.localdate() - timedelta(days=31)
    page.fill("#close-day", lock.isoformat())
    page.click("text=Close the books")
    page.wait_for_selector("text=The books are closed up to")
    assert page.locator("table tbody tr").first.inner_text().count("Closed") == 1
    sizes(page, capture, "period-lock")
