"""Bulk statements as a django-q2 background job with visible progress.

`start_run` (in the request's transaction) picks the customers — everyone with a balance at the
end date (or only those with a tag) — records a StatementRun with one StatementRunItem each, and
after commit queues `run_statements`. The task enters the organization's tenant context, and
for each customer not yet done renders the statement PDF (stored) and, if asked, e-mails it
through the invoice e-mail machinery; each customer commits on its own, so the progress page
(which refreshes itself) shows the count moving, and a run that is interrupted is resumed by
queueing it again: customers already done are skipped.
"""

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from ledger_site import queue
from ledger_site.tenancy import tenant_context
from reports.models import RunStatus, StatementRun, StatementRunItem

logger = logging.getLogger(__name__)
TASK = "reports.tasks.run_statements"


def customers_with_balance(org, end, tag: str = ""):
    """Customers whose net balance (open invoices − unapplied credits) at `end` is not zero."""
    from reports.aging import AgingQuery, aging
    from reports.asof import org_currencies

    ids = []
    for currency in org_currencies(org):
        report = aging(org, AgingQuery(as_of=end, currency=currency, tag=tag, page_size=None, sort="name"))
        ids += [row.customer_id for row in report.rows if row.total != 0]
    return ids


def start_run(org, actor, *, style: str, start, end, tag: str = "", send: bool = True) -> StatementRun:
    ids = customers_with_balance(org, end, tag)
    run = StatementRun.objects.create(organization=org, created_by=actor, style=style, start=start, end=end,
                                      tag=tag[:50], send=send, total=len(ids))
    StatementRunItem.objects.bulk_create([StatementRunItem(organization=org, run=run, customer_id=pk) for pk in ids])
    if not ids:
        run.status, run.finished_at, run.message = RunStatus.DONE, timezone.now(), "No customer has a balance."
        run.save(update_fields=["status", "finished_at", "message"])
        return run
    org_id, run_id = org.pk, run.pk
    transaction.on_commit(lambda: enqueue(org_id, run_id))
    return run


def enqueue(org_id: int, run_id: int) -> None:
    queue.enqueue(TASK, org_id, run_id, task_name=f"statements-{run_id}", group="statements")


def run_statements(org_id: int, run_id: int) -> str:
    from reports import statements

    with tenant_context(org_id):
        run = StatementRun.objects.get(pk=run_id)
        if run.status == RunStatus.DONE:
            return "done already"
        run.status, run.started_at = RunStatus.RUNNING, run.started_at or timezone.now()
        run.save(update_fields=["status", "started_at"])
        pending = list(StatementRunItem.objects.filter(run=run, outcome="").order_by("pk")
                       .values_list("pk", "customer_id"))
        for item_id, customer_id in pending:
            outcome, detail = "failed", ""
            try:
                with transaction.atomic():
                    customer = Customer.objects.select_related("organization").get(pk=customer_id)
                    st = statements.build(customer, run.style, run.start, run.end)
                    if run.send and customer.email_list:
                        statements.email_statement(st, actor=run.created_by)
                        outcome, detail = "sent", ", ".join(customer.email_list)
                    elif run.send:
                        statements.stored_pdf(st)
                        outcome, detail = "skipped", "no billing e-mail address"
                    else:
                        statements.stored_pdf(st)
                        outcome = "rendered"
            except Exception as error:  # one customer's failure does not stop the run
                logger.exception("statement of customer %s in run %s failed", customer_id, run_id)
                detail = f"{type(error).__name__}: {error}"[:500]
            with transaction.atomic():
                StatementRunItem.objects.filter(pk=item_id).update(outcome=outcome, detail=detail, at=timezone.now())
                counts = {"done": 1, "sent": int(outcome == "sent"), "skipped": int(outcome == "skipped"),
                          "failed": int(outcome == "failed")}
                run = StatementRun.objects.select_for_update().get(pk=run_id)
                for name, add in counts.items():
                    setattr(run, name, getattr(run, name) + add)
                run.save(update_fields=list(counts))
        run.status, run.finished_at = RunStatus.DONE, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        return f"{run.done} statements, {run.sent} sent, {run.skipped} skipped, {run.failed} failed"


def send_report_emails() -> dict:
    """Hourly (schedule "reports: scheduled report e-mails"): each organization's subscribed
    reports for the period that ended, once each (reports.subscriptions), each organization in its
    own tenant context, walked through the narrow directory (organizations are behind RLS)."""
    from accounts.org_directory import all_organizations
    from reports.subscriptions import send_due

    done = {}
    for org in all_organizations():
        with tenant_context(org):
            outcome = send_due(org)
        if outcome["sent"] or outcome["skipped"]:
            done[org.pk] = outcome
    return done


def take_snapshots() -> dict:
    """Daily (schedule "reports: period-end snapshots"): every organization's missing month-end aging
    snapshots up to its lock date (reports.snapshots), each organization in its own context."""
    from accounts.models import Organization
    from accounts.org_directory import organization_ids
    from reports import snapshots

    written = {}
    for org_id in organization_ids():
        with tenant_context(org_id):
            days = snapshots.take_due(Organization.objects.get(pk=org_id))
        if days:
            written[org_id] = [d.isoformat() for d in days]
    return written
