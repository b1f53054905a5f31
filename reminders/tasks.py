"""django-q2 entry points: the 15-minute scan and the delivery of an organization's outbox."""

import logging
import time

from django.utils import timezone
from django_q.tasks import async_task

from accounts.org_directory import all_organizations, organization_ids
from ledger_site import outbox as engine
from reminders.models import BATCH_OUTBOX
from reminders.outbox import BATCH, BOX, deliver
from reminders.scheduler import scan

log = logging.getLogger("reminders")
MAX_PARALLEL = 8  # delivery tasks queued for one organization at once
TIME_BUDGET = 90  # seconds one delivery task works before handing over (Q_CLUSTER timeout is 120)


def run_scan():
    """The schedule's function: one scan now. Returns a short summary for django-q's task log."""
    result = scan()
    return {"queued": result.queued, "skipped": result.skipped, "orgs": len(result.orgs),
            "seconds": round(result.seconds, 3)}


def enqueue_delivery(org_id: int, count: int = 0) -> int:
    """Queue enough delivery tasks to work through `count` new rows in parallel (at least one,
    which also picks up rows waiting for a retry). Each task claims its own rows."""
    tasks = max(1, min(MAX_PARALLEL, -(-count // (BATCH * 4))))
    for _ in range(tasks):
        async_task("reminders.tasks.deliver_organization", org_id, group=f"reminders-{org_id}")
    return tasks


def deliver_organization(org_id: int):
    started = time.monotonic()
    total = None
    while time.monotonic() - started < TIME_BUDGET:
        report = deliver(org_id, max_batches=1)
        total = report if total is None else total.__iadd__(report)
        if not (report.sent or report.retrying or report.failed or report.cancelled):
            return total.__dict__
    async_task("reminders.tasks.deliver_organization", org_id, group=f"reminders-{org_id}")  # more to do
    return total.__dict__ if total else {}


def recover_outbox() -> dict:
    """Every minute (schedule "reminders: recover"): queue delivery for every organization with a
    row whose sender died (its lease ran out, in database time). Rows waiting for a retry are the
    scan's business; this only shortens recovery after a crash from a scan interval to a minute."""
    from ledger_site.tenancy import tenant_context

    recovered = []
    for org_id in organization_ids():
        with tenant_context(org_id):
            stale = engine.has_stale(BOX, org_id) or engine.has_stale(BATCH_OUTBOX, org_id)
        if stale:
            enqueue_delivery(org_id)
            recovered.append(org_id)
    return {"organizations": recovered}


def deliver_webhooks() -> dict:
    """Every minute (schedule "webhooks: deliver"): post the due webhook deliveries of every organization."""
    from ledger_site.tenancy import tenant_context
    from reminders.webhooks import BOX as WEBHOOKS
    from reminders.webhooks import deliver

    started = time.monotonic()
    done = {}
    for org_id in organization_ids():
        if time.monotonic() - started > TIME_BUDGET:
            break  # the next minute's run goes on
        with tenant_context(org_id):
            due = engine.has_claimable(WEBHOOKS, org_id, timezone.now())
        if due:
            report = deliver(org_id, max_batches=5)
            done[org_id] = report.__dict__
    return done


def deliver_webhooks_org(org_id: int) -> dict:
    """Queued by a "resend" click: that organization's due deliveries now, not at the next minute."""
    from reminders.webhooks import deliver

    return deliver(org_id, max_batches=5).__dict__


def announce_overdue() -> dict:
    """Hourly (schedule "webhooks: invoice.overdue"): emit invoice.overdue for the invoices that fell
    overdue since the last run, in each organization's own time zone (reminders.overdue_events)."""
    from ledger_site.tenancy import tenant_context
    from reminders.overdue_events import announce

    announced = {}
    for org in all_organizations():
        with tenant_context(org):
            count = announce(org)
        if count:
            announced[org.pk] = count
    return announced


def send_digests() -> dict:
    """Hourly (schedule "notifications: e-mail digests"): put together and send the day's
    notification digests of every organization (reminders.digests)."""
    from ledger_site.tenancy import tenant_context
    from reminders import digests

    done = {}
    for org in all_organizations():
        with tenant_context(org):
            made = digests.queue(org)
            report = digests.deliver(org.pk, max_batches=5)
        if made or report.sent or report.retrying or report.failed:
            done[org.pk] = {"made": made, **report.__dict__}
    return done
