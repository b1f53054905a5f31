"""Bulk actions on the customer list (issue 21): export the ticked customers as CSV, or archive
them. Archiving follows the single archive's rule, stricter: a customer who still owes money (or
is owed: any balance but zero) is refused with the balance, never archived in bulk; the single
page lets an owner confirm that case one customer at a time. Finance staff and owners; ids are
looked up in the organization (and row-level security scopes them again)."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.ledger import customer_balance
from accounts.models import Customer, Role
from accounts.models_org import today_in
from accounts.money import format_money
from accounts.permissions import org_view
from accounts.selection import parse_ids
from ledger_site.exports import csv_stream_response
from ledger_site.tenancy import tenant_context

CSV_HEADER = ["code", "name", "billing_emails", "currency", "payment_terms_days", "credit_limit", "balance",
              "archived"]


@require_POST
@org_view(Role.FINANCE)
def customer_bulk(request):
    back = request.POST.get("back", "")[:2000]
    try:
        ids = parse_ids(request.POST.getlist("ids"))
    except ValueError as e:
        messages.error(request, str(e))
        return redirect(redirect("customer_list", org_slug=request.org.slug).url + (f"?{back}" if back else ""))
    if request.POST.get("export"):
        return _export(request.org, request.user, ids)
    if request.POST.get("action") != "archive":
        messages.error(request, _("Choose an action."))
        return redirect("customer_list", org_slug=request.org.slug)
    with transaction.atomic():
        rows = _archive(request.org, ids)
    return render(request, "accounts/customer_bulk_result.html", {
        "rows": rows, "back": back, "done": sum(1 for r in rows if r[2]), "skipped": sum(1 for r in rows if not r[2])})


def _archive(org, ids) -> list[tuple]:
    """(customer or None, id, archived?, note) per id. The rows are locked while each balance is read."""
    rows = []
    found = {c.pk: c for c in Customer.objects.filter(organization=org, pk__in=ids).order_by("pk").select_for_update()}
    for pk in ids:
        customer = found.get(pk)
        if customer is None:
            rows.append((None, pk, False, _("Not found in this organization.")))
        elif customer.archived_at:
            rows.append((customer, pk, False, _("Already archived.")))
        elif (balance := customer_balance(customer)) != 0:
            owed = format_money(balance, customer.currency)
            rows.append((customer, pk, False, _("Balance %(balance)s: settle or write it off first, or archive it "
                                                "on its own page.") % {"balance": owed}))
        else:
            customer.archived_at = timezone.now()
            customer.save(update_fields=["archived_at"])
            rows.append((customer, pk, True, _("Archived.")))
    return rows


def _export(org, user, ids):
    def rows():
        yield CSV_HEADER
        with tenant_context(org, user):  # streamed after the middleware's context ended
            for c in Customer.objects.filter(organization=org, pk__in=ids).order_by("code", "pk"):
                yield [c.code, c.name, ", ".join(c.email_list), c.currency, c.payment_terms_days,
                       c.credit_limit if c.credit_limit is not None else "", customer_balance(c),
                       "yes" if c.archived_at else ""]

    return csv_stream_response(rows(), f"customers-{org.slug}-{today_in(org):%Y%m%d}.csv")
