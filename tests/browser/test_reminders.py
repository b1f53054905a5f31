"""In a real browser: on an overdue invoice press "Send reminder", preview, send; the reminder shows in
the invoice timeline and in the reminders log. Screenshots go to $SCREENSHOT_DIR (default
tests/artifacts/pages/, which git ignores)."""

import re
from datetime import date, timedelta

import pytest
from django.core import mail

from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def overdue(transactional_db):
    """Made before the browser starts: Playwright's event loop makes the thread async."""
    org, owner = make_org(name="Reminder Roasters", slug="reminder-roasters")
    with tenant_context(org):
        customer = CustomerFactory(organization=org, name="Late Latte Ltd", billing_emails="ap@latelatte.example")
        today = date.today()
        invoice = issued(org, customer, lines=(("Espresso beans", "10", "24.50", "20"),),
                         issue_date=today - timedelta(days=40), due_date=today - timedelta(days=8))
    return org, owner, invoice


def test_send_reminder_on_an_overdue_invoice_then_see_it_in_the_timeline_and_the_log(overdue, live_server,
                                                                                     page, capture):
    org, owner, invoice = overdue
    sign_in(page, owner.email)

    page.goto(f"{live_server.url}/o/{org.slug}/invoices/{invoice.pk}/")
    page.click("#send-reminder")
    page.wait_for_url(re.compile(r".*/reminders/invoices/\d+/send/$"))
    assert "8 days overdue" in page.inner_text("#preview-body")
    assert "294.00 EUR" in page.inner_text("#preview-body")
    capture(page, "reminders-send-preview")
    page.dblclick("#send-now")  # a double click sends once
    page.wait_for_url(re.compile(rf".*/invoices/{invoice.pk}/$"))
    timeline = page.inner_text(".timeline")
    assert "Reminder sent by hand" in timeline and "ap@latelatte.example" in timeline
    capture(page, "reminders-invoice-timeline")
    assert len(mail.outbox) == 1 and invoice.number in mail.outbox[0].subject

    page.click("nav.mainnav >> text=Reminders")
    page.click("nav.tabs >> text=Sent log")
    row = page.locator("table.reminders-log tbody tr").first
    assert invoice.number in row.inner_text() and "Sent" in row.inner_text()
    capture(page, "reminders-log")
    page.click("nav.tabs >> text=Upcoming")
    capture(page, "reminders-upcoming")
    page.click("nav.tabs >> text=Policies")
    page.click("table >> text=Standard")
    assert "Catch-up rule" in page.inner_text("main")
    capture(page, "reminders-policy")
    page.click("text=Edit policy")
    capture(page, "reminders-policy-edit")
    page.goto(f"{live_server.url}/o/{org.slug}/reminders/health/")
    capture(page, "reminders-health")
