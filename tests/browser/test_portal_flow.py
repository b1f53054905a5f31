"""In a real browser (phone-sized): the customer opens the invoice link, disputes one line and promises
to pay the rest; the clerk sees both on the worklist and resolves the dispute with a credit note."""

import re
from datetime import date, timedelta

import pytest

from invoicing import public
from ledger_site.tenancy import tenant_context
from reminders.models import PromiseToPay
from reminders.models_collections import Dispute
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def disputed_world(transactional_db):
    org, owner = make_org(name="Portal Press", slug="portal-press")
    clerk = add_member(org)
    with tenant_context(org):
        customer = CustomerFactory(organization=org, name="Reader Ltd", billing_emails="ap@reader.example")
        today = date.today()
        invoice = issued(org, customer, lines=(("Printing", "1", "300.00", "0"), ("Binding", "1", "80.00", "0")),
                         issue_date=today - timedelta(days=40), due_date=today - timedelta(days=8))
        path = public.link_path(public.ensure_link(invoice))
    return org, clerk, invoice, path


def test_customer_disputes_a_line_and_promises_the_rest_then_the_clerk_resolves(disputed_world, live_server,
                                                                               page, capture):
    org, clerk, invoice, path = disputed_world
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + path)
    page.click("#public-account")
    page.wait_for_url(re.compile(r".*/account/$"))
    card = page.locator(f"#inv-{invoice.pk}")
    card.locator("summary", has_text="Something is wrong").click()
    card.locator("select[name=reason]").select_option("not_received")
    card.locator("label.check", has_text="Binding").locator("input").check()
    card.locator("textarea[name=message]").fill("Binding never arrived")
    card.locator("button", has_text="Send dispute").click()
    page.wait_for_url(re.compile(r".*done=dispute$"))
    assert "your dispute has been sent" in page.inner_text("#portal-done")
    card = page.locator(f"#inv-{invoice.pk}")
    card.locator("summary", has_text="Tell us when you will pay").click()
    card.locator("input[name=until]").fill((date.today() + timedelta(days=4)).isoformat())
    promise_amount = card.locator("form[action$='promise/'] input[name=amount]")
    assert promise_amount.input_value() == "300.00"  # the part not in dispute is suggested
    promise_amount.fill("300.00")
    card.locator("button", has_text="Send promise").click()
    page.wait_for_url(re.compile(r".*done=promise$"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    capture(page, "portal-account-phone")

    page.context.clear_cookies()
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, clerk.email)
    page.goto(f"{live_server.url}/o/{org.slug}/reminders/worklist/")
    assert invoice.number in page.inner_text("#wl-disputes")
    assert invoice.number in page.inner_text("#wl-promises")
    capture(page, "worklist")
    page.locator("#wl-disputes a", has_text=invoice.number).click()
    page.wait_for_url(re.compile(r".*/reminders/disputes/\d+/$"))
    assert "80.00" in page.inner_text("#dispute-amount")
    page.select_option("select[name=outcome]", "credit_note")
    page.fill("textarea[name=note]", "Credit note for the missing binding")
    page.click("button:has-text('Resolve dispute')")
    page.wait_for_selector("#dispute-outcome")
    assert "Credit note issued" in page.inner_text("#dispute-outcome")
    with tenant_context(org):
        assert Dispute.objects.get().status == "resolved"
        assert PromiseToPay.objects.get().amount == 300
