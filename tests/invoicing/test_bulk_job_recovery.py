"""A bulk job whose worker died (issue 21, invoicing.bulk_jobs.sweep_stalled): the sweep queues it
again and it goes on with the invoices that have no outcome yet, each invoice done once; after
MAX_RECOVERIES it is stopped with the reason. A worker that was only slow, and lost the job to
the sweep, commits nothing more; a long job hands itself over before django-q2's timeout."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from invoicing import bulk, bulk_jobs
from invoicing.models import BulkJob, BulkJobRow
from ledger_site.tenancy import set_db_context
from tests.invoicing.test_bulk_jobs import LINE, confirm, queued_jobs, run_queued_jobs, statuses
from tests.invoicing_helpers import draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("as_worker_role")]


class Killed(BaseException):
    """What a hard kill looks like from inside: nothing after it runs, no `except Exception` sees it."""


@pytest.fixture
def five_drafts(acme, monkeypatch):
    monkeypatch.setattr(bulk_jobs, "CHUNK", 2)
    with acme.ctx():
        return [draft(acme.org, acme.customer, LINE) for _ in range(5)]


def kill_in_chunk(monkeypatch, n):
    """The worker dies in its n-th chunk (that chunk's transaction never commits)."""
    real, calls = bulk.run, []

    def run(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "run", run)
    return lambda: monkeypatch.setattr(bulk, "run", real)


def run_and_die(monkeypatch, in_chunk):
    """Run the queued job; the worker dies in that chunk. Its task is dropped from the queue."""
    revive = kill_in_chunk(monkeypatch, in_chunk)
    with pytest.raises(Killed):
        run_queued_jobs()
    revive()
    OrmQ.objects.all().delete()


def age(acme, job_id, minutes=10):
    with acme.ctx():
        BulkJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now() - timedelta(minutes=minutes))


def job(acme):
    with acme.ctx():
        return BulkJob.objects.get()


def outcomes(acme):
    with acme.ctx():
        return sorted(BulkJobRow.objects.values_list("invoice_id", flat=True))


def test_a_job_whose_worker_died_is_resumed_and_does_each_invoice_once(acme, five_drafts, monkeypatch):
    confirm(acme)
    revive = kill_in_chunk(monkeypatch, 2)
    with pytest.raises(Killed):
        run_queued_jobs()  # its task stays in the queue: django-q2 delivers it again later
    revive()
    died = job(acme)
    assert (died.status, died.done, died.total) == ("running", 2, 5)
    assert statuses(acme, five_drafts) == ["issued"] * 2 + ["draft"] * 3  # the dead chunk rolled back
    assert bulk_jobs.sweep_stalled() == {"resumed": [], "stopped": []}  # not stalled yet: a worker may be busy
    age(acme, died.pk)
    assert bulk_jobs.sweep_stalled() == {"resumed": [died.pk], "stopped": []}
    assert (job(acme).status, job(acme).recoveries) == ("queued", 1)
    assert bulk_jobs.sweep_stalled() == {"resumed": [], "stopped": []}  # queued once, not per sweep
    assert len(queued_jobs()) == 2  # the dead worker's task, delivered again, and the sweep's
    assert sorted(run_queued_jobs()) == [0, 3]  # one of them claims the job, the other finds it taken
    done = job(acme)
    assert (done.status, done.total, done.done, done.succeeded, done.claims) == ("done", 5, 5, 5, 2)
    assert statuses(acme, five_drafts) == ["issued"] * 5
    assert outcomes(acme) == sorted(d.pk for d in five_drafts)  # one outcome per invoice


def test_after_max_recoveries_the_job_is_stopped_with_the_reason_and_keeps_its_outcomes(acme, five_drafts, monkeypatch):
    monkeypatch.setattr(bulk_jobs, "MAX_RECOVERIES", 1)
    confirm(acme)
    for _attempt in range(2):
        run_and_die(monkeypatch, 2)
        age(acme, job(acme).pk)
        swept = bulk_jobs.sweep_stalled()
    assert swept == {"resumed": [], "stopped": [job(acme).pk]}
    stopped = job(acme)
    assert stopped.status == "failed" and stopped.finished_at is not None
    assert "stopped 2 times; 4 of 5 invoices were looked at" in stopped.error
    assert queued_jobs() == []
    assert len(outcomes(acme)) == 4 and statuses(acme, five_drafts).count("issued") == 4
    page = acme.client(acme.finance).get(acme.url("invoice_bulk_job", pk=stopped.pk)).content.decode()
    assert "Start it again for the rest" in page


def test_a_slow_worker_that_lost_its_job_to_the_sweep_commits_nothing_more(acme, five_drafts, monkeypatch):
    confirm(acme)
    real = bulk_jobs.matching_ids

    def taken_over_meanwhile(org, query):
        ids = real(org, query)
        # the sweep re-queued the job and another worker claimed it while this one was busy
        BulkJob.objects.update(claims=99)
        return ids

    monkeypatch.setattr(bulk_jobs, "matching_ids", taken_over_meanwhile)
    assert run_queued_jobs() == [0]
    assert outcomes(acme) == []
    assert statuses(acme, five_drafts) == ["draft"] * 5


def test_a_long_job_hands_itself_over_and_each_worker_goes_on_where_the_last_stopped(acme, five_drafts, monkeypatch):
    monkeypatch.setattr(bulk_jobs, "TIME_BUDGET", -1)  # every run is over budget after its first chunk
    confirm(acme)
    runs = []
    while pending := queued_jobs():
        OrmQ.objects.all().delete()  # taken by the worker; what it queues goes to the next one
        set_db_context(None, None)
        runs += [bulk_jobs.run_job(*args) for args in pending]
    assert runs == [2, 2, 1]
    finished = job(acme)
    assert (finished.status, finished.done, finished.succeeded, finished.claims) == ("done", 5, 5, 3)
    assert outcomes(acme) == sorted(d.pk for d in five_drafts)
