""""Select all N matching" (issue 21): a bulk action over every invoice that matches the list's
filters, run by the worker (django-q2) with progress, then a result summary.

- `start(org, user, action, query, token, params)` records the job and queues it in one
  transaction. The confirmation form's token is unique per organization, so two clicks (or two
  tabs submitting the same form) find the first job and queue nothing more.
- `run_job(org_id, job_id, user_id)` is the worker's side. It claims the job once
  (queued → running), applies the saved filter again inside the organization's row-level
  security context, and works CHUNK invoices per transaction through `invoicing.bulk.run`
  (the same per-row rules and locks as a page), saving each row's outcome and the progress
  after each chunk. A job over more than `listing.CAP` invoices is refused: the list cannot
  count beyond that either.
- Issuing drafts is not all-or-nothing here: each draft is issued or refused on its own (one
  transaction over up to 10,000 drafts would hold their locks for minutes and lose all the work
  for one refusal); the summary lists every refusal.
"""

import time
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, F
from django.db.models.functions import Now
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.org_directory import organization_ids
from invoicing import bulk
from invoicing.invoice_filters import filter_invoices
from invoicing.models import BulkJob, BulkJobRow, BulkJobStatus
from ledger_site import listing
from ledger_site.queue import enqueue
from ledger_site.tenancy import tenant_context

CHUNK = 50  # invoices per transaction: short locks, progress that moves
TIME_BUDGET = 90  # seconds a worker runs a job before handing it over (Q_CLUSTER's timeout is 120)
STALLED = timedelta(minutes=5)  # no chunk committed for this long: the worker is gone
MAX_RECOVERIES = 3  # then the job is stopped with the reason


def matching_ids(org, query: str) -> list[int]:
    """The ids the list's filters match now (at most CAP + 1 of them), oldest first."""
    _form, invoices = filter_invoices(org, QueryDict(query) if query else None)
    return list(invoices.order_by("pk").values_list("pk", flat=True)[:listing.CAP + 1])


def start(org, user, action: str, query: str, token: str, params: dict | None = None) -> BulkJob:
    if action not in bulk.ACTIONS:
        raise bulk.BulkError(_("Choose an action."))
    if not token or len(token) > 64:
        raise bulk.BulkError(_("The form has expired; select the invoices again."))
    with transaction.atomic():
        job, created = BulkJob.objects.get_or_create(organization=org, token=token, defaults={
            "started_by": user, "action": action, "query": query[:2000], "params": params or {}})
        if created:
            _queue(job)
    job.refresh_from_db()
    return job


def run_job(org_id: int, job_id: int, user_id: int) -> int:
    """The worker's side; returns how many invoices this run did the action to. A job resumed after
    its worker died (`sweep_stalled`) or handed over at the time budget goes on with the invoices
    it has no outcome for yet; the outcomes saved so far stay."""
    started = time.monotonic()
    with tenant_context(org_id, user_id):
        # Claimed once: a task delivered twice (a worker restart) finds it running and stops.
        if not BulkJob.objects.filter(pk=job_id, status=BulkJobStatus.QUEUED).update(
                status=BulkJobStatus.RUNNING, claims=F("claims") + 1, heartbeat_at=Now()):
            return 0
        job = BulkJob.objects.select_related("organization", "started_by").get(pk=job_id)
        mine = BulkJob.objects.filter(pk=job_id, status=BulkJobStatus.RUNNING, claims=job.claims)
    try:
        with tenant_context(org_id, user_id):
            seen = set(job.rows.values_list("invoice_id", flat=True))
            succeeded = job.rows.filter(ok=True).count()
            ids = [pk for pk in matching_ids(job.organization, job.query) if pk not in seen]
            if len(seen) + len(ids) > listing.CAP:
                return _stop(job, _("More than %(n)s invoices match now: narrow the filter and start again.")
                             % {"n": f"{listing.CAP:,}"})
            mine.update(total=len(seen) + len(ids))
        done_here = 0
        for start_at in range(0, len(ids), CHUNK):
            if start_at and time.monotonic() - started > TIME_BUDGET:  # at least one chunk per claim
                return done_here + _hand_over(job, mine)
            chunk = ids[start_at:start_at + CHUNK]
            with tenant_context(org_id, user_id), transaction.atomic():
                # The heartbeat first: it locks the job row until the chunk commits, and writes
                # nothing if the sweep gave the job to another worker meanwhile (this one was
                # only slow): then this chunk is not done here.
                if not mine.update(heartbeat_at=Now()):
                    return done_here
                rows = bulk.run(job.organization, job.action, chunk, actor=job.started_by,
                                base_url=job.params.get("base_url", ""), all_or_nothing=False, params=job.params)
                BulkJobRow.objects.bulk_create([_row(job, r) for r in rows])
                ok = sum(1 for r in rows if r.ok)
                succeeded += ok
                done_here += ok
                mine.update(done=len(seen) + start_at + len(chunk), succeeded=succeeded)
        with tenant_context(org_id, user_id):
            mine.update(status=BulkJobStatus.DONE, finished_at=timezone.now())
        return done_here
    except Exception as e:
        _stop(job, f"{type(e).__name__}: {e}")
        raise


def _hand_over(job: BulkJob, mine) -> int:
    """Past the time budget: queue the job again for the next worker (before django-q2's timeout
    kills this one), in one transaction with giving up the claim."""
    with tenant_context(job.organization_id, job.started_by_id), transaction.atomic():
        if mine.update(status=BulkJobStatus.QUEUED):
            _queue(job)
    return 0


def _queue(job: BulkJob) -> None:
    if not enqueue("invoicing.bulk_jobs.run_job", job.organization_id, job.pk, job.started_by_id,
                   task_name=f"bulk-{job.organization_id}-{job.pk}-{job.claims}", group=f"bulk-{job.organization_id}"):
        raise bulk.BulkError(_("The background job could not be started; try again."))


def sweep_stalled() -> dict:
    """Every two minutes (schedule "invoicing: recover bulk jobs"): a job still "running" whose
    worker has shown no sign of life for STALLED (it was killed hard: out of memory, a deploy,
    django-q2's timeout) is queued again, where it goes on with the invoices it has no outcome
    for; after MAX_RECOVERIES it is stopped with the reason, its outcomes so far kept."""
    resumed, stopped = [], []
    for org_id in organization_ids():
        with tenant_context(org_id):
            stalled = list(BulkJob.objects.filter(status=BulkJobStatus.RUNNING,
                                                  heartbeat_at__lt=timezone.now() - STALLED))
        for job in stalled:
            with tenant_context(org_id), transaction.atomic():
                # Only if nothing moved since it was read: a chunk commit changes the heartbeat
                # (and holds the job row while it runs), another sweep the claims.
                same = BulkJob.objects.filter(pk=job.pk, status=BulkJobStatus.RUNNING, claims=job.claims,
                                              heartbeat_at=job.heartbeat_at)
                if job.recoveries >= MAX_RECOVERIES:
                    reason = _("The worker running this job stopped %(n)s times; %(done)s of %(total)s invoices "
                               "were looked at and their outcomes are below. Start it again for the rest.") % {
                        "n": job.recoveries + 1, "done": job.done, "total": job.total}
                    if same.update(status=BulkJobStatus.FAILED, error=reason[:500], finished_at=timezone.now()):
                        stopped.append(job.pk)
                elif same.update(status=BulkJobStatus.QUEUED, recoveries=F("recoveries") + 1):
                    _queue(job)
                    resumed.append(job.pk)
    return {"resumed": resumed, "stopped": stopped}


def _stop(job: BulkJob, reason: str) -> int:
    with tenant_context(job.organization_id, job.started_by_id):
        BulkJob.objects.filter(pk=job.pk).update(status=BulkJobStatus.FAILED, error=reason[:500],
                                                 finished_at=timezone.now())
    return 0


def _row(job: BulkJob, row: bulk.Row) -> BulkJobRow:
    inv = row.invoice
    return BulkJobRow(organization_id=job.organization_id, job=job, invoice_id=inv.pk if inv else row.pk,
                      label=(str(inv) if inv else f"#{row.pk}")[:60],
                      customer=(inv.customer.name if inv else "")[:200], ok=row.ok, note=str(row.note)[:500])


def outcome_counts(job: BulkJob) -> list[dict]:
    """How many rows ended each way: done, then each reason for not done, most frequent first."""
    done = job.rows.filter(ok=True).count()
    reasons = list(job.rows.filter(ok=False).values("note").annotate(n=Count("pk")).order_by("-n", "note")[:20])
    return ([{"ok": True, "note": _("Done"), "n": done}] if done else []) + [
        {"ok": False, "note": r["note"], "n": r["n"]} for r in reasons]


OUTCOME_HEADER = ["invoice_id", "invoice", "customer", "outcome", "note"]


def outcome_rows(job: BulkJob):
    yield OUTCOME_HEADER
    for r in job.rows.order_by("pk").iterator(chunk_size=2000):
        yield [r.invoice_id, r.label, r.customer, "done" if r.ok else "not done", r.note]
