"""Bulk actions on the invoice list: confirm once, then one result per row (invoicing.bulk).

POST only (a GET goes back to the list). Finance staff and owners; "Export selected" streams the
ticked invoices as the list's CSV and changes nothing. With "all matching" ticked the action
covers every invoice the list's filters match: confirmed once, then run by the worker
(invoicing.bulk_jobs) with a progress page that becomes the result summary.
"""

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.ledger import new_idempotency_key
from accounts.models import Role
from accounts.models_org import today_in
from accounts.permissions import org_view
from invoicing import bulk, bulk_jobs
from invoicing.models import BulkJob, Invoice
from invoicing.views.lists import export_response
from ledger_site import listing
from ledger_site.exports import csv_stream_response
from ledger_site.tenancy import tenant_context

JOB_REFRESH_SECONDS = 2  # the progress page reloads itself (a meta refresh: no script needed)


def _back_query(request) -> str:
    """The list's filters and sort, to return to the same view of the list."""
    return QueryDict(request.POST.get("back", "")[:2000]).urlencode()  # re-encoded: only a query string


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def invoice_bulk(request):
    back = _back_query(request)
    if request.method == "GET":
        return redirect("invoice_list", org_slug=request.org.slug)
    action = "export" if request.POST.get("export") else request.POST.get("action", "")
    if request.POST.get("all_matching") == "1":
        return _all_matching(request, action, back)
    try:
        ids = bulk.parse_ids(request.POST.getlist("ids"))
        if action == "export":
            return export_response(request.org, request.user,
                                   Invoice.objects.filter(organization=request.org, pk__in=ids).values("pk"))
        if request.POST.get("confirm") != "1":
            rows = bulk.plan(request.org, action, ids)
            return render(request, "invoicing/bulk_confirm.html", {
                "rows": rows, "action": action, "label": bulk.ACTIONS[action], "back": back,
                "ready": sum(1 for r in rows if r.ok), "ids": [r.invoice.pk for r in rows if r.ok],
                "reasons": _reasons(action),
            })
        params = bulk.clean_params(action, request.POST)
        rows = bulk.run(request.org, action, ids, actor=request.user, base_url=request.build_absolute_uri("/"),
                        params=params)
    except bulk.BulkError as e:
        messages.error(request, " ".join(e.messages))
        url = redirect("invoice_list", org_slug=request.org.slug).url
        return redirect(f"{url}?{back}" if back else url)
    return render(request, "invoicing/bulk_result.html", {
        "rows": rows, "action": action, "label": bulk.ACTIONS[action], "back": back,
        "done": sum(1 for r in rows if r.ok), "skipped": sum(1 for r in rows if not r.ok),
    })


def _reasons(action):
    plugged = bulk.PLUGGED.get(action)
    return plugged.reasons if plugged else []


def _back_to_list(request, back):
    url = redirect("invoice_list", org_slug=request.org.slug).url
    return redirect(f"{url}?{back}" if back else url)


def _all_matching(request, action, back):
    """Every invoice the list's filters match: the export at once, any other action confirmed
    once and then queued as one job (the same token twice finds the same job)."""
    if action == "export":
        url = redirect("invoice_export", org_slug=request.org.slug).url
        return redirect(f"{url}?{back}" if back else url)
    try:
        if request.POST.get("confirm") == "1":
            params = {**bulk.clean_params(action, request.POST), "base_url": request.build_absolute_uri("/")}
            job = bulk_jobs.start(request.org, request.user, action, back, request.POST.get("token", ""), params)
            return redirect("invoice_bulk_job", org_slug=request.org.slug, pk=job.pk)
        if action not in bulk.ACTIONS:
            raise bulk.BulkError(_("Choose an action."))
        count = len(bulk_jobs.matching_ids(request.org, back))
        if not count:
            raise bulk.BulkError(_("No invoice matches these filters."))
        if count > listing.CAP:
            raise bulk.BulkError(_("More than %(n)s invoices match: narrow the filter to act on all of them.")
                                 % {"n": f"{listing.CAP:,}"})
    except bulk.BulkError as e:
        messages.error(request, " ".join(e.messages))
        return _back_to_list(request, back)
    return render(request, "invoicing/bulk_all_confirm.html", {
        "action": action, "label": bulk.ACTIONS[action], "back": back, "count": count,
        "token": new_idempotency_key(), "reasons": _reasons(action),
    })


@require_GET
@org_view(Role.FINANCE)
def invoice_bulk_job(request, pk):
    """The job's progress while it runs (the page reloads itself), its result summary after."""
    job = get_object_or_404(BulkJob.objects.select_related("started_by"), organization=request.org, pk=pk)
    refused = list(job.rows.filter(ok=False).order_by("pk")[:200]) if job.finished else []
    return render(request, "invoicing/bulk_job.html", {
        "job": job, "label": bulk.ACTIONS.get(job.action, job.action), "back": job.query,
        "refresh": None if job.finished else JOB_REFRESH_SECONDS, "refused": refused,
        "outcomes": bulk_jobs.outcome_counts(job) if job.finished else [],
    })


@require_GET
@org_view(Role.FINANCE)
def invoice_bulk_job_csv(request, pk):
    """Every row's outcome as CSV."""
    job = get_object_or_404(BulkJob, organization=request.org, pk=pk)

    def rows():
        with tenant_context(request.org, request.user):  # streamed after the middleware's context ended
            yield from bulk_jobs.outcome_rows(job)

    return csv_stream_response(rows(), f"bulk-{job.action}-{job.pk}-{today_in(request.org):%Y%m%d}.csv")
