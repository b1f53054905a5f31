"""Issue 21 in a real browser, points 1, 4, 5, 8, 12 and 14: record a payment from the invoice
page, Save & issue from the editor, Issue & e-mail, the "not e-mailed" marker, the invoice list's
due total without drafts, the large-payment confirmation, the customer list's balance and overdue
columns, the warning when archiving a customer who owes money, bulk statements not pre-ticked.
At 1366×900 and 390×844 (no horizontal page scroll on the pages visited)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Customer
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIEWPORTS = [pytest.param({"width": 1366, "height": 900}, id="desktop"),
             pytest.param({"width": 390, "height": 844}, id="phone")]


@pytest.fixture
def daily_flow_org(transactional_db):
    org, owner = make_org(name="Daily Flow", slug="daily-flow")
    today = timezone.localdate()
    with tenant_context(org, owner):
        oak = CustomerFactory(organization=org, name="Oak Partners", code="OAK", billing_emails="ap@oak.example")
        elm = CustomerFactory(organization=org, name="Elm Retail", code="ELM", billing_emails="")
        late = issued(org, oak, [("Audit", "1", "700.00", None)], issue_date=today - timedelta(days=40),
                      due_date=today - timedelta(days=10))
        fresh = issued(org, elm, [("Setup", "1", "300.00", None)])
        pending = draft(org, oak, [("Big draft", "1", "9000000.00", None)])
    return org, owner, oak, elm, late, fresh, pending


def in_org(org, read):
    """Reads in the organization's context: the test connects as the application role (RLS)."""
    with tenant_context(org):
        return read()


def no_horizontal_scroll(page):
    """True when the page does not scroll sideways; otherwise fails naming what sticks out."""
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
        .filter(el => { for (let a = el.parentElement; a; a = a.parentElement) {
            if (getComputedStyle(a).overflowX !== 'visible') return false; } return true; })
        .slice(0, 8).map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))""")
    scrolls = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not scrolls, f"the page scrolls sideways; wider than the screen: {wide}"
    return True


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_record_payment_from_the_invoice_page(daily_flow_org, live_server, page, capture, viewport):
    org, owner, oak, _elm, late, _fresh, _pending = daily_flow_org
    page.set_viewport_size(viewport)
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)
    page.goto(f"{base}/invoices/{late.pk}/")
    page.click("#record-payment")
    page.wait_for_url(re.compile(r".*/payments/new/\?customer=\d+&invoice=\d+"))
    assert page.input_value("input[name=amount]") == "700.00"
    assert page.is_checked("input[name=mode][value=manual]")
    assert page.input_value(f"#alloc-{late.pk}") == "700.00"
    capture(page, f"daily-record-payment-{viewport['width']}")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/payments/\d+/$"))
    assert in_org(org, lambda: Invoice.objects.get(pk=late.pk).amount_due) == 0


def test_large_payment_needs_a_confirmation(daily_flow_org, live_server, page, capture):
    org, owner, oak, _elm, late, _fresh, _pending = daily_flow_org
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)
    page.goto(f"{base}/payments/new/?customer={oak.pk}")
    page.fill("input[name=amount]", "9,999,999,999.00")
    page.click("button[value=save]")
    page.wait_for_load_state()
    assert "far more than Oak Partners owes (700.00 EUR)" in page.inner_text("main")
    assert in_org(org, lambda: Payment.objects.filter(organization=org).count()) == 0
    capture(page, "daily-large-payment")
    page.check("input[name=confirm_large]")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/payments/\d+/$"))
    assert in_org(org, lambda: Payment.objects.get(organization=org).amount) == Decimal("9999999999.00")
    assert no_horizontal_scroll(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_save_and_issue_then_marker_and_issue_and_email(daily_flow_org, live_server, page, capture, viewport):
    org, owner, oak, elm, _late, fresh, pending = daily_flow_org
    page.set_viewport_size(viewport)
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)
    # the invoice list: "due" counts no draft (9,000,000.00 of draft is not owed)
    page.goto(f"{base}/invoices/")
    totals = page.inner_text(".list-totals")
    assert "due 1,000.00" in totals and "9,001,000.00" not in totals.split("due")[1]
    assert page.locator("tr", has_text=fresh.number).locator(".not-emailed").count() == 1

    # Save & issue, from the editor, for a customer without a billing e-mail
    page.goto(f"{base}/invoices/new/?customer={elm.pk}")
    row = page.locator("#line-rows tr.line-row").first
    row.locator("input[name$=description]").fill("Consulting")
    row.locator("input[name$=quantity]").fill("2")
    row.locator("input[name$=unit_price]").fill("1,250.00")
    page.click("#save-issue")
    page.wait_for_url(re.compile(r".*/invoices/\d+/$"))
    assert re.search(r"Invoice INV-\S+ issued\.", page.inner_text(".messages"))
    assert page.locator("h1 .not-emailed").count() == 1
    capture(page, f"daily-save-issue-{viewport['width']}")
    assert no_horizontal_scroll(page)

    # Issue & e-mail the draft of a customer with a billing e-mail: no marker afterwards
    page.goto(f"{base}/invoices/{pending.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#issue-email")
    page.wait_for_selector(".messages >> text=on its way to ap@oak.example")
    assert page.locator("h1 .not-emailed").count() == 0
    assert in_org(org, lambda: Invoice.objects.get(pk=pending.pk).status) == "issued"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_customer_list_balance_and_overdue_and_archive_warning(daily_flow_org, live_server, page, capture, viewport):
    org, owner, oak, elm, _late, _fresh, _pending = daily_flow_org
    page.set_viewport_size(viewport)
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)
    page.goto(f"{base}/customers/?sort=-balance")
    rows = page.locator("table tbody tr")
    assert rows.nth(0).inner_text().strip().startswith("Oak Partners")  # owes 700, Elm 300 (after the tick box)
    assert rows.nth(0).locator("[data-overdue]").inner_text() == "700.00 EUR"
    assert rows.nth(1).locator("[data-balance]").inner_text() == "300.00 EUR"
    assert rows.nth(1).locator("[data-overdue]").inner_text() == "—"
    capture(page, f"daily-customer-list-{viewport['width']}")
    assert no_horizontal_scroll(page)

    page.goto(f"{base}/customers/{oak.pk}/")
    page.click("form[action$='/archive/'] button")
    page.wait_for_selector(".archive-owes")
    assert "still owes 700.00 EUR" in page.inner_text(".archive-owes")
    assert in_org(org, lambda: Customer.objects.get(pk=oak.pk).archived_at) is None
    page.click("#archive-anyway")
    page.wait_for_url(re.compile(rf".*/customers/{oak.pk}/$"))
    assert in_org(org, lambda: Customer.objects.get(pk=oak.pk).archived_at) is not None


def test_bulk_statements_are_not_pre_ticked(daily_flow_org, live_server, page):
    org, owner, *_ = daily_flow_org
    sign_in(page, owner.email)
    page.goto(f"{live_server.url}/o/{org.slug}/reports/statements/")
    assert not page.is_checked("input[name=send]")
    assert page.inner_text("#bulk-statements-start") == "Prepare statements"
