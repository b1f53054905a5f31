"""Bulk actions on the invoice list: confirm once, then one result per row (invoicing.bulk).

POST only (a GET goes back to the list). Finance staff and owners; "Export selected" streams the
ticked invoices as the list's CSV and changes nothing.
"""

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from accounts.permissions import org_view
from invoicing import bulk
from invoicing.models import Invoice
from invoicing.views.lists import export_response


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
            })
        rows = bulk.run(request.org, action, ids, actor=request.user, base_url=request.build_absolute_uri("/"))
    except bulk.BulkError as e:
        messages.error(request, " ".join(e.messages))
        url = redirect("invoice_list", org_slug=request.org.slug).url
        return redirect(f"{url}?{back}" if back else url)
    return render(request, "invoicing/bulk_result.html", {
        "rows": rows, "action": action, "label": bulk.ACTIONS[action], "back": back,
        "done": sum(1 for r in rows if r.ok), "skipped": sum(1 for r in rows if not r.ok),
    })
