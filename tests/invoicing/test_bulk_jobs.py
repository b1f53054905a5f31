"""'Select all N matching' (issue 21, invoicing.bulk_jobs): the action covers every invoice the
list's filters match, runs on the worker with progress, and ends with a summary and a CSV. The
filter is applied again when the job runs; two clicks start one job; a job belongs to its
organization; a selection above the list's cap is refused."""

import csv
import io

import pytest
from django.test import Client
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from invoicing import bulk_jobs
from invoicing.models import BulkJob, BulkJobRow, Invoice
from ledger_site import listing
from ledger_site.tenancy import current_org_id, set_db_context
from tests.factories import add_member, make_org
from tests.invoicing_helpers import draft, issued

# django-q2's queue tables are the worker's: only its role may read them (and Conf.SYNC writes there).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("as_worker_role")]

LINE = [("Work", "1", "100.00", None)]


def queued_jobs() -> list[tuple]:
    """The args of every bulk job waiting in django-q2's ORM broker (issuing also queues PDF renders)."""
    packages = [SignedPackage.loads(row.payload) for row in OrmQ.objects.all()]
    return [tuple(p["args"]) for p in packages if p["func"] == "invoicing.bulk_jobs.run_job"]


def run_queued_jobs() -> list[int]:
    """What the worker does with the queue: call each bulk job outside any tenant context, drop the rows.
    (Conf.SYNC cannot be used: it would render an issued invoice's PDF before its issue commits.)"""
    caller = current_org_id()
    set_db_context(None, None)
    results = [bulk_jobs.run_job(*args) for args in queued_jobs()]
    OrmQ.objects.all().delete()
    set_db_context(caller, None)
    return results


@pytest.fixture
def bulk_invoices(acme):
    """Four drafts (one with no lines: issuing it is refused) and one issued invoice."""
    with acme.ctx():
        drafts = [draft(acme.org, acme.customer, LINE) for _ in range(3)]
        empty = draft(acme.org, acme.customer, [])
        done = issued(acme.org, acme.customer, LINE)
    return drafts, empty, done


def confirm(acme, action="issue", back="status=draft", token="t-1", user=None, run=False):  # noqa: S107
    response = acme.client(user or acme.finance).post(acme.url("invoice_bulk"), {
        "action": action, "all_matching": "1", "confirm": "1", "back": back, "token": token})
    if run:
        run_queued_jobs()
    return response


def statuses(acme, invoices):
    with acme.ctx():
        return [Invoice.objects.get(pk=i.pk).status for i in invoices]


def the_job(acme):
    with acme.ctx():
        return BulkJob.objects.get()


def test_the_first_post_asks_once_with_the_count_and_changes_nothing(acme, bulk_invoices):
    drafts, empty, done = bulk_invoices
    response = acme.client(acme.finance).post(acme.url("invoice_bulk"), {
        "action": "issue", "all_matching": "1", "back": "status=draft"})
    assert response.status_code == 200
    assert response.context["count"] == 4
    page = response.content.decode()
    assert "4 invoices match the list" in page and "Start: 4 invoices" in page
    assert statuses(acme, drafts + [empty]) == ["draft"] * 4
    with acme.ctx():
        assert not BulkJob.objects.exists()


def test_the_job_issues_every_matching_draft_on_its_own_and_reports_the_refusal(acme, bulk_invoices):
    drafts, empty, done = bulk_invoices
    response = confirm(acme, run=True)
    job = the_job(acme)
    assert response.status_code == 302 and response["Location"] == acme.url("invoice_bulk_job", pk=job.pk)
    assert (job.status, job.total, job.done, job.succeeded) == ("done", 4, 4, 3)
    assert job.started_by == acme.finance and job.query == "status=draft"
    assert statuses(acme, drafts) == ["issued"] * 3  # one refusal does not stop the others
    assert statuses(acme, [empty]) == ["draft"]
    page = acme.client(acme.finance).get(response["Location"])
    assert 'http-equiv="refresh"' not in page.content.decode()  # finished: no more reloading
    outcomes = {(o["ok"], o["n"]) for o in page.context["outcomes"]}
    assert outcomes == {(True, 3), (False, 1)}
    assert [r.invoice_id for r in page.context["refused"]] == [empty.pk]
    assert "3 done of 4 matching" in page.content.decode()
    csv_response = acme.client(acme.finance).get(acme.url("invoice_bulk_job_csv", pk=job.pk))
    rows = list(csv.reader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    assert rows[0] == bulk_jobs.OUTCOME_HEADER
    assert sorted((int(r[0]), r[3]) for r in rows[1:]) == sorted(
        [(d.pk, "done") for d in drafts] + [(empty.pk, "not done")])


def test_the_filter_is_applied_again_when_the_job_runs(acme, bulk_invoices):
    drafts, empty, done = bulk_invoices
    confirm(acme, back="status=draft")  # queued: no worker runs here
    job = the_job(acme)
    assert job.status == "queued"
    page = acme.client(acme.finance).get(acme.url("invoice_bulk_job", pk=job.pk)).content.decode()
    assert 'http-equiv="refresh"' in page and "Counting the matching invoices" in page
    with acme.ctx():
        late = draft(acme.org, acme.customer, LINE)  # made after the click, matches the filter
        Invoice.objects.filter(pk=drafts[0].pk).delete()  # gone before the job ran
    assert bulk_jobs.run_job(acme.org.pk, job.pk, acme.finance.pk) == 3
    assert statuses(acme, drafts[1:] + [late]) == ["issued"] * 3
    with acme.ctx():
        assert set(BulkJobRow.objects.values_list("invoice_id", flat=True)) == {drafts[1].pk, drafts[2].pk,
                                                                                late.pk, empty.pk}


def test_two_clicks_start_one_job(acme, bulk_invoices):
    first = confirm(acme, token="same")
    second = confirm(acme, token="same")
    assert first["Location"] == second["Location"]
    with acme.ctx():
        assert BulkJob.objects.count() == 1
    assert len(queued_jobs()) == 1


def test_a_job_delivered_twice_runs_once(acme, bulk_invoices):
    confirm(acme)
    job = the_job(acme)
    assert bulk_jobs.run_job(acme.org.pk, job.pk, acme.finance.pk) == 3
    assert bulk_jobs.run_job(acme.org.pk, job.pk, acme.finance.pk) == 0
    with acme.ctx():
        assert BulkJobRow.objects.count() == 4


def test_a_job_belongs_to_its_organization(acme, bulk_invoices):
    confirm(acme)
    job = the_job(acme)
    other, other_owner = make_org(name="Other Org", slug="other-org")
    client = Client()
    client.force_login(other_owner)
    assert client.get(f"/o/{other.slug}/invoices/bulk/jobs/{job.pk}/").status_code == 404
    assert client.get(f"/o/{other.slug}/invoices/bulk/jobs/{job.pk}/outcomes.csv").status_code == 404
    outsider = add_member(other, "finance")
    client.force_login(outsider)
    assert client.get(acme.url("invoice_bulk_job", pk=job.pk)).status_code in (403, 404)


def test_viewers_cannot_start_a_job(acme, bulk_invoices):
    response = confirm(acme, user=acme.viewer)
    assert response.status_code == 403
    assert statuses(acme, bulk_invoices[0]) == ["draft"] * 3
    with acme.ctx():
        assert not BulkJob.objects.exists()


def test_above_the_cap_the_selection_is_refused(acme, bulk_invoices, monkeypatch):
    monkeypatch.setattr(listing, "CAP", 3)
    client = acme.client(acme.finance)
    response = client.post(acme.url("invoice_bulk"), {"action": "issue", "all_matching": "1", "back": "status=draft"})
    assert response.status_code == 302
    assert "More than 3 invoices match: narrow the filter" in client.get(response["Location"]).content.decode()
    list_page = client.get(acme.url("invoice_list") + "?status=draft").content.decode()
    assert "More than 3 match: narrow the filter to act on all of them at once." in list_page
    assert 'name="all_matching"' not in list_page


def test_a_job_that_finds_more_than_the_cap_at_run_time_stops_and_changes_nothing(acme, bulk_invoices, monkeypatch):
    confirm(acme)
    job = the_job(acme)
    monkeypatch.setattr(listing, "CAP", 3)
    assert bulk_jobs.run_job(acme.org.pk, job.pk, acme.finance.pk) == 0
    job = the_job(acme)
    assert job.status == "failed" and "More than 3 invoices match now" in job.error
    assert statuses(acme, bulk_invoices[0]) == ["draft"] * 3


def test_the_list_offers_all_matching_only_beyond_the_page(acme, bulk_invoices, monkeypatch):
    client = acme.client(acme.finance)
    assert 'name="all_matching"' not in client.get(acme.url("invoice_list")).content.decode()  # 5 on one page
    monkeypatch.setattr("invoicing.views.lists.PAGE_SIZE", 2)
    page = client.get(acme.url("invoice_list") + "?status=draft").content.decode()
    assert 'name="all_matching"' in page and "Select all 4 matching invoices" in page


def test_export_of_all_matching_is_the_filtered_export(acme, bulk_invoices):
    response = acme.client(acme.finance).post(acme.url("invoice_bulk"), {
        "export": "1", "all_matching": "1", "back": "status=draft"})
    assert response.status_code == 302 and response["Location"].endswith("/invoices/export.csv?status=draft")


def test_a_deleting_job_lists_the_deleted_drafts(acme, bulk_invoices):
    drafts, empty, done = bulk_invoices
    confirm(acme, action="delete", back="", run=True)
    job = the_job(acme)
    assert (job.status, job.total, job.succeeded) == ("done", 5, 4)
    with acme.ctx():
        assert list(Invoice.objects.values_list("pk", flat=True)) == [done.pk]
        assert BulkJobRow.objects.get(invoice_id=done.pk).note.startswith("Not a draft")
    page = acme.client(acme.finance).get(acme.url("invoice_bulk_job", pk=job.pk))
    assert page.status_code == 200
