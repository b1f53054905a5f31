"""In a real browser: on an overdue invoice press "Send reminder", preview, send; the reminder shows in
the invoice timeline and in the reminders log. Screenshots go to $SCREENSHOT_DIR (default
/tmp/ledgerline-shots), never into the repository."""

import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core import mail

from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/ledgerline-shots"))  # noqa: S108 - screenshots only
PASSWORD = "correct-horse-battery"


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
        assert errors == [], f"JavaScript errors: {errors}"
        context.close()
        browser.close()


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


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_send_reminder_on_an_overdue_invoice_then_see_it_in_the_timeline_and_the_log(overdue, live_server,
                                                                                     browser_page):
    org, owner, invoice = overdue
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/o/.*|.*/$"))

    page.goto(f"{live_server.url}/o/{org.slug}/invoices/{invoice.pk}/")
    page.click("#send-reminder")
    page.wait_for_url(re.compile(r".*/reminders/invoices/\d+/send/$"))
    assert "8 days overdue" in page.inner_text("#preview-body")
    assert "294.00 EUR" in page.inner_text("#preview-body")
    shot(page, "reminders-send-preview")
    page.dblclick("#send-now")  # a double click sends once
    page.wait_for_url(re.compile(rf".*/invoices/{invoice.pk}/$"))
    timeline = page.inner_text(".timeline")
    assert "Reminder sent by hand" in timeline and "ap@latelatte.example" in timeline
    shot(page, "reminders-invoice-timeline")
    assert len(mail.outbox) == 1 and invoice.number in mail.outbox[0].subject

    page.click("nav.mainnav >> text=Reminders")
    page.click("nav.tabs >> text=Sent log")
    row = page.locator("table.reminders-log tbody tr").first
    assert invoice.number in row.inner_text() and "Sent" in row.inner_text()
    shot(page, "reminders-log")
    page.click("nav.tabs >> text=Upcoming")
    shot(page, "reminders-upcoming")
    page.click("nav.tabs >> text=Policies")
    page.click("table >> text=Standard")
    assert "Catch-up rule" in page.inner_text("main")
    shot(page, "reminders-policy")
    page.click("text=Edit policy")
    shot(page, "reminders-policy-edit")
    page.goto(f"{live_server.url}/o/{org.slug}/reminders/health/")
    shot(page, "reminders-health")
