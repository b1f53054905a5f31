"""In a real browser: a finance user proposes new credit terms, the customer keeps the old ones; an
owner approves on the same page and the customer has the new ones. Read at 1366×900 and 390×844."""

from decimal import Decimal

import pytest

from accounts.models import Customer, Role
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import assert_every_control_is_labelled, sign_in
from tests.factories import CustomerFactory, add_member, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def terms(org, customer):
    with tenant_context(org):
        fresh = Customer.objects.get(pk=customer.pk)
    return fresh.credit_limit, fresh.payment_terms_days


def test_finance_proposes_and_an_owner_approves(transactional_db, new_page, live_server, capture):
    org, owner = make_org(name="Terms Ltd")
    finance = add_member(org, Role.FINANCE)
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org, name="Acme Ltd", credit_limit=Decimal("1000.00"),
                               payment_terms_days=30)
    url = f"/o/{org.slug}/customers/{acme.pk}/credit-terms/"

    page = new_page()
    sign_in(page, finance.email)
    page.goto(f"/o/{org.slug}/customers/{acme.pk}/")
    page.click("text=Propose other credit terms")
    page.wait_for_url(f"**{url}")
    assert_every_control_is_labelled(page)
    page.fill("input[name=credit_limit]", "5000")
    page.fill("input[name=payment_terms_days]", "45")
    page.fill("textarea[name=reason]", "Three years of prompt payment")
    page.click("text=Propose to the owners")
    page.wait_for_selector("#pending")
    assert "Approve" not in page.locator("#pending").inner_text()  # finance cannot decide
    assert terms(org, acme) == (Decimal("1000.00"), 30)

    page = new_page()
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/settings/credit-terms/")
    assert "Three years of prompt payment" in page.inner_text("main")
    page.click("text=Acme Ltd")
    page.wait_for_url(f"**{url}")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        capture(page, f"credit-terms-{width}")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the credit-terms page scrolls sideways at {width}px"
    page.click("#pending button[value=approve]")
    page.wait_for_selector("text=Approved: the customer's credit terms are changed.")
    assert terms(org, acme) == (Decimal("5000.00"), 45)
    assert "Approved" in page.locator("table").inner_text()
