"""The invoice list (filters, search, totals of the filtered set, CSV export) and credit notes.

A page costs a fixed number of queries whatever its size: the rows with their customer, the
count, and one grouped sum per currency for the totals.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.ledger import LedgerError, new_idempotency_key
from accounts.models import Customer, Role
from accounts.models_org import today_in
from accounts.money import format_money
from accounts.permissions import can, org_view
from invoicing.bulk import ACTIONS as BULK_ACTIONS
from invoicing.credit_notes import credit_amount
from invoicing.forms import StandaloneCreditForm, percent_value
from invoicing.hooks import ALLOCATIONS
from invoicing.invoice_filters import filter_invoices
from invoicing.mail import emailed_annotation
from invoicing.models import OPEN_Q, CreditNote, Invoice, InvoiceStatus, TaxRate
from ledger_site import listing
from ledger_site.exports import csv_stream_response
from ledger_site.listing import CountedPaginator, capped, capped_count, more_than_cap
from ledger_site.sorting import sort_order
from ledger_site.tenancy import tenant_context

PAGE_SIZE = 50


@org_view(Role.VIEWER)
def invoice_list(request):
    form, invoices = filter_invoices(request.org, request.GET or None)
    # The count up to CAP + 1 (ids only), then, within the cap, one aggregate for the totals (void
    # invoices not counted; due: open invoices only, never drafts). Above it the page says "more
    # than CAP" and shows no totals (ledger_site.listing).
    count = capped_count(invoices)
    more = more_than_cap(count)
    live = ~Q(status=InvoiceStatus.VOID)
    totals = [] if more else [g for g in capped(invoices).order_by().values("currency").annotate(
        n=Count("pk", filter=live), total=Sum("total", filter=live),
        due=Sum("amount_due", filter=live & OPEN_Q, default=0)).order_by("currency") if g["n"]]
    sort, order = sort_order("invoices", request.GET.get("sort"))  # the keys: ledger_site.sorting
    rows = invoices.select_related("customer").annotate(emailed=emailed_annotation()).order_by(*order)
    page = CountedPaginator(rows, PAGE_SIZE, count, more=more).get_page(request.GET.get("page"))
    return render(request, "invoicing/invoice_list.html", {
        "form": form, "page": page, "totals": totals, "more_than": listing.CAP if more else None,
        "filtered": bool(request.GET.dict().keys() - {"page", "sort"}),
        "any_invoice": Invoice.objects.filter(organization=request.org).exists(),
        "can_act": can(request, Role.FINANCE), "query": request.GET.urlencode(), "sort": sort,
        "bulk_actions": list(BULK_ACTIONS.items()),
    })


class _Echo:
    def write(self, value):
        return value


CSV_HEADER = ["number", "status", "customer_code", "customer", "reference", "issue_date", "due_date", "currency",
              "subtotal", "discount", "tax", "total", "paid", "credited", "written_off", "amount_due", "disputed"]


@org_view(Role.VIEWER)
def invoice_export(request):
    """The filtered set as CSV, streamed in chunks; works for any size."""
    form, invoices = filter_invoices(request.org, request.GET or None)
    return export_response(request.org, request.user, invoices.values("pk"))


def export_response(org, user, ids):
    """These invoices (a subquery of pks) as the list's CSV, streamed; also "Export selected"."""

    def rows():
        yield CSV_HEADER
        # The response streams after the view (and the tenancy middleware) returned:
        # act for the organization again while reading.
        with tenant_context(org, user):
            qs = (Invoice.objects.filter(organization=org, pk__in=ids).select_related("customer")
                  .order_by("issue_date", "pk"))
            for inv in qs.iterator(chunk_size=2000):
                yield [
                    inv.number or "", inv.display_status, inv.customer.code, inv.customer.name,
                    inv.reference, inv.issue_date, inv.due_date, inv.currency,
                    inv.subtotal, inv.discount_total, inv.tax_total, inv.total, inv.amount_paid,
                    inv.amount_credited, inv.amount_written_off, inv.amount_due, "yes" if inv.is_disputed else "",
                ]

    return csv_stream_response(rows(), f"invoices-{org.slug}-{today_in(org):%Y%m%d}.csv")


# --- Credit notes ------------------------------------------------------------------------

@org_view(Role.VIEWER)
def credit_note_list(request):
    notes = CreditNote.objects.filter(organization=request.org).select_related("customer", "invoice")
    q = request.GET.get("q", "").strip()[:100]
    if q:
        notes = notes.filter(Q(number__icontains=q) | Q(customer__name__icontains=q)
                             | Q(invoice__number__icontains=q) | Q(reason__icontains=q))
    customer_id = request.GET.get("customer", "")
    if customer_id.isdigit():
        notes = notes.filter(customer_id=int(customer_id))
    page = Paginator(notes.order_by("-issue_date", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "invoicing/credit_note_list.html", {
        "page": page, "q": q, "can_act": can(request, Role.FINANCE),
        "any_note": CreditNote.objects.filter(organization=request.org).exists(),
    })


@org_view(Role.VIEWER)
def credit_note_detail(request, pk):
    note = get_object_or_404(CreditNote.objects.select_related("customer", "invoice", "created_by"),
                             organization=request.org, pk=pk)
    return render(request, "invoicing/credit_note_detail.html", {
        "note": note, "lines": list(note.lines.all()), "allocations": ALLOCATIONS.of_credit_note(note),
    })


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def credit_note_create(request, customer_pk):
    """A standalone credit note for a customer: it stays as unapplied credit."""
    customer = get_object_or_404(Customer, organization=request.org, pk=customer_pk)
    percents = sorted(set(TaxRate.objects.filter(organization=request.org, archived=False)
                          .values_list("percent", flat=True)) | {Decimal(0)}, reverse=True)
    if request.method == "POST":
        form = StandaloneCreditForm(request.POST, currency=customer.currency, percents=percents)
        key = f"ui:credit:{customer.pk}:{request.POST.get('idempotency_key', '')}"
        done = CreditNote.objects.filter(organization=request.org, entry__idempotency_key=key).first()
        if done is not None:
            messages.info(request, _("Credit note %(number)s was already issued.") % {"number": done.number})
            return redirect("credit_note_detail", org_slug=request.org.slug, pk=done.pk)
        if form.is_valid():
            try:
                note = credit_amount(customer, form.cleaned_data["amount"], form.cleaned_data["reason"],
                                     actor=request.user, tax_percent=form.cleaned_data["tax_percent"],
                                     idempotency_key=f"ui:credit:{customer.pk}:{form.cleaned_data['idempotency_key']}")
            except LedgerError as e:
                form.add_error(None, " ".join(e.messages))
            else:
                messages.success(request, _("Credit note %(number)s issued for %(total)s.")
                                 % {"number": note.number, "total": format_money(note.total, note.currency)})
                return redirect("credit_note_detail", org_slug=request.org.slug, pk=note.pk)
    else:
        form = StandaloneCreditForm(currency=customer.currency, percents=percents,
                                    initial={"idempotency_key": new_idempotency_key(),
                                             "tax_percent": percent_value(percents[0])})
    return render(request, "invoicing/credit_note_form.html", {"customer": customer, "form": form})
