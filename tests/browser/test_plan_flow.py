"""In a real browser: staff propose a payment plan; the customer accepts it on their link (phone-sized);
the clerk sees it accepted on the worklist and logs a call from there (issue 19 #7, #6)."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from invoicing import public
from ledger_site.tenancy import tenant_context
from reminders import plans
from reminders.models_plans import ContactLog, PaymentPlan
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def plan_world(transactional_db):
    org, owner = make_org(name="Plan Press", slug="plan-press")
    clerk = add_member(org)
    with tenant_context(org):
        customer = CustomerFactory(organization=org, name="Instalment Ltd", billing_emails="ap@instalment.example")
        today = date.today()
        invoice = issued(org, customer, lines=(("Printing", "1", "900.00", "0"),),
                         issue_date=today - timedelta(days=40), due_date=today - timedelta(days=10))
        plan = plans.create_plan(customer, [invoice.pk], [(today + timedelta(days=7 + 30 * n), Decimal("300.00"))
                                                          for n in range(3)],
                                 actor=clerk, propose=True, today=invoice.today)
        path = public.link_path(public.ensure_link(invoice))
    return org, clerk, customer, plan, path


def test_customer_accepts_a_proposed_plan_and_the_clerk_logs_a_call(plan_world, live_server, page, capture):
    org, clerk, customer, plan, path = plan_world
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + path + "account/")
    offer = page.locator(f"#plan-{plan.pk}")
    assert "900.00" in offer.inner_text() and offer.locator(".plan-instalments li").count() == 3
    capture(page, "portal-plan-offer-phone")
    offer.locator("button", has_text="I accept this payment plan").click()
    page.wait_for_url(re.compile(r".*done=plan$"))
    assert "your payment plan is agreed" in page.inner_text("#portal-done")
    assert page.locator(f"#plan-{plan.pk}").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    with tenant_context(org):
        assert PaymentPlan.objects.get().status == "active"

    page.context.clear_cookies()
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, clerk.email)
    page.goto(f"{live_server.url}/o/{org.slug}/reminders/worklist/")
    row = page.locator(f"#wl-plans [data-plan='{plan.pk}']")
    assert "Instalment Ltd" in row.inner_text() and "accepted on their link" in row.inner_text()
    assert "accepted the payment plan" in page.inner_text("#wl-notifications")
    row.locator("summary", has_text="Log a call").click()
    row.locator("select[name=outcome]").select_option("reached")
    row.locator("input[name=note]").fill("Thanked them for accepting the plan")
    row.locator("button", has_text="Save call").click()
    page.wait_for_url(re.compile(r".*/reminders/worklist/$"))
    assert "Call logged" in page.inner_text("body")
    capture(page, "worklist-plan-call")
    page.goto(f"{live_server.url}/o/{org.slug}/customers/{customer.pk}/")
    log = page.inner_text(".reminder-panel")
    assert "Thanked them for accepting the plan" in log and "Accepted the payment plan" in log
    with tenant_context(org):
        call = ContactLog.objects.get()
        assert call.outcome == "reached" and call.created_by_id == clerk.pk
