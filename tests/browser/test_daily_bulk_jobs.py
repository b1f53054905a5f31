"""Issue 21 in a real browser: a list above the count cap says "More than N match", and "select all
N matching" runs the action as a background job whose progress page reloads itself (a meta
refresh: no script) into the result summary. At 1366×900 and 390×844, with no sideways scroll.
The cap and the page size are lowered for the test (module constants)."""

import re

import pytest

from invoicing import bulk_jobs
from invoicing.models import BulkJob, Invoice
from ledger_site import listing
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.browser.test_daily_invoice_flow import VIEWPORTS, no_horizontal_scroll
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def books(transactional_db):
    org, owner = make_org(name="Job Books", slug="job-books")
    with tenant_context(org, owner):
        elm = CustomerFactory(organization=org, name="Elm Supplies", code="ELM", billing_emails="ap@elm.example")
        drafts = [draft(org, elm, [(f"Work {n}", "1", f"{100 + n}.00", None)]) for n in range(5)]
        sent = issued(org, elm, [("Earlier work", "1", "50.00", None)])
    return org, owner, drafts, sent


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_above_the_cap_the_list_says_more_than_and_offers_no_select_all(books, live_server, page, capture,
                                                                       viewport, monkeypatch):
    org, owner, drafts, sent = books
    monkeypatch.setattr(listing, "CAP", 3)
    page.set_viewport_size(viewport)
    sign_in(page, owner.email)
    page.goto(f"{live_server.url}/o/{org.slug}/invoices/")
    assert page.text_content("[data-testid=more-than]").strip() == (
        "More than 3 match: narrow the filter to see the count and totals.")
    assert page.locator(".list-totals strong.num").count() == 0  # no partial totals
    assert page.is_hidden("#bulk-all-matching")  # offered once the whole page is ticked
    page.check("#bulk-all")
    assert page.is_visible("[data-testid=all-matching-over]")
    assert "narrow the filter to act on all of them" in page.text_content("[data-testid=all-matching-over]")
    assert page.locator("input[name=all_matching]").count() == 0
    no_horizontal_scroll(page)
    capture(page, f"daily-bulk-over-cap-{viewport['width']}")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_select_all_matching_runs_a_job_with_progress_then_a_summary(books, live_server, page, capture,
                                                                    viewport, monkeypatch):
    org, owner, drafts, sent = books
    monkeypatch.setattr("invoicing.views.lists.PAGE_SIZE", 2)
    page.set_viewport_size(viewport)
    sign_in(page, owner.email)
    page.goto(f"{live_server.url}/o/{org.slug}/invoices/")
    page.check("#bulk-all")
    assert page.is_visible("#bulk-all-matching")
    page.check("#bulk-all-matching-box")
    assert "Select all 6 matching invoices" in page.text_content("#bulk-count")
    no_horizontal_scroll(page)
    capture(page, f"daily-bulk-select-all-{viewport['width']}")
    page.select_option("#bulk-action", "delete")
    page.click("#bulk-go")
    page.wait_for_selector("#bulk-confirm")
    assert "6 invoices match the list" in page.text_content("#bulk-question")
    no_horizontal_scroll(page)
    capture(page, f"daily-bulk-job-confirm-{viewport['width']}")
    page.click("#bulk-confirm")
    page.wait_for_url(re.compile(r".*/invoices/bulk/jobs/\d+/$"))
    progress = page.text_content("[data-testid=job-progress]")
    assert "Waiting for the worker" in progress and "Counting the matching invoices" in progress
    assert page.locator("meta[http-equiv=refresh]").count() == 1
    no_horizontal_scroll(page)
    capture(page, f"daily-bulk-job-progress-{viewport['width']}")
    with tenant_context(org):
        job = BulkJob.objects.get()
    assert job.started_by == owner
    assert bulk_jobs.run_job(org.pk, job.pk, owner.pk) == 5  # what the worker does
    page.wait_for_selector("#bulk-summary", timeout=10_000)  # the page reloaded itself
    assert re.sub(r"\s+", " ", page.text_content("#bulk-summary")).strip() == "5 done of 6 matching (6 looked at)."
    assert "Not a draft (Issued)." in page.text_content("[data-testid=job-refused]")
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    no_horizontal_scroll(page)
    capture(page, f"daily-bulk-job-summary-{viewport['width']}")
    with tenant_context(org):
        assert list(Invoice.objects.values_list("pk", flat=True)) == [sent.pk]
