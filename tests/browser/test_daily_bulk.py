"""Issue 21 point 3 in a real browser: tick invoices on the list (one by one, or the whole page),
choose an action, confirm once, read the result of each row. At 1366×900 and 390×844, with no
sideways page scroll."""

import re

import pytest

from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.browser.test_daily_invoice_flow import VIEWPORTS, no_horizontal_scroll
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def books(transactional_db):
    org, owner = make_org(name="Bulk Books", slug="bulk-books")
    with tenant_context(org, owner):
        oak = CustomerFactory(organization=org, name="Oak Partners", code="OAK", billing_emails="ap@oak.example")
        drafts = [draft(org, oak, [(f"Work {n}", "1", f"{100 + n}.00", None)]) for n in range(3)]
        sent = issued(org, oak, [("Earlier work", "1", "50.00", None)])
    return org, owner, drafts, sent


def statuses(org, invoices):
    with tenant_context(org):
        return sorted(Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list("status", flat=True))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_tick_drafts_issue_them_after_one_confirmation_and_read_each_result(books, live_server, page, capture,
                                                                             viewport):
    org, owner, drafts, sent = books
    page.set_viewport_size(viewport)
    sign_in(page, owner.email)
    page.goto(f"{live_server.url}/o/{org.slug}/invoices/?status=draft")
    assert page.is_disabled("#bulk-go")  # nothing ticked yet
    page.check("#bulk-all")
    assert page.locator("input[name=ids]:checked").count() == 3
    assert page.text_content("#bulk-count").strip() == "3 invoices ticked"
    page.uncheck(f"input[name=ids][value='{drafts[2].pk}']")
    assert page.text_content("#bulk-count").strip() == "2 invoices ticked"
    assert page.evaluate("document.getElementById('bulk-all').indeterminate")
    no_horizontal_scroll(page)
    capture(page, f"daily-bulk-list-{viewport['width']}")
    page.select_option("#bulk-action", "issue")
    page.click("#bulk-go")
    page.wait_for_url(re.compile(r".*/invoices/bulk/$"))
    assert "Issue 2 drafts" in page.text_content("#bulk-confirm")
    assert statuses(org, drafts) == ["draft"] * 3  # the confirmation changes nothing
    no_horizontal_scroll(page)
    capture(page, f"daily-bulk-confirm-{viewport['width']}")
    page.click("#bulk-confirm")
    page.wait_for_selector("#bulk-summary")
    assert re.sub(r"\s+", " ", page.text_content("#bulk-summary")).strip() == "2 done · 0 not done"
    assert page.locator("tr.bulk-done").count() == 2
    assert statuses(org, drafts) == ["draft", "issued", "issued"]
    no_horizontal_scroll(page)
    capture(page, f"daily-bulk-result-{viewport['width']}")
    page.click("text=Back to the invoices")
    page.wait_for_url(re.compile(r".*/invoices/\?status=draft$"))  # the same filtered list
    assert page.locator("input[name=ids]").count() == 1


def test_email_skips_what_cannot_be_sent_and_says_why(books, live_server, page):
    org, owner, drafts, sent = books
    sign_in(page, owner.email)
    page.goto(f"{live_server.url}/o/{org.slug}/invoices/")
    page.check(f"input[name=ids][value='{sent.pk}']")
    page.check(f"input[name=ids][value='{drafts[0].pk}']")
    page.select_option("#bulk-action", "email")
    page.click("#bulk-go")
    page.wait_for_selector("#bulk-confirm")
    assert "E-mail 1 invoice" in page.text_content("#bulk-confirm")
    assert "Only an issued invoice can be e-mailed." in page.text_content("tr.bulk-skip")
    page.click("#bulk-confirm")
    page.wait_for_selector("#bulk-summary")
    assert "E-mail queued to ap@oak.example." in page.text_content("tr.bulk-done")
