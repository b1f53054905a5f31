"""The invoice list's filters (status, customer, dates, amounts, text), in one place for every
reader of that list: the page and its CSV (invoicing.views.lists) and a bulk job, which applies
the saved filter again when the worker runs it (invoicing.bulk_jobs)."""

from django.db.models import F, Q

from accounts.models_org import today_in
from accounts.search_ops import AmountAtLeast, AmountAtMost
from invoicing.forms import InvoiceFilterForm
from invoicing.models import Invoice, InvoiceStatus


def filter_invoices(org, data) -> tuple[InvoiceFilterForm, object]:
    form = InvoiceFilterForm(data, org=org)
    invoices = Invoice.objects.filter(organization=org)
    if not form.is_valid():
        return form, invoices.none() if form.errors else invoices
    f = form.cleaned_data
    today = today_in(org)
    status = f.get("status")
    if status == "draft":
        invoices = invoices.filter(status=InvoiceStatus.DRAFT)
    elif status == "open":
        invoices = invoices.open()
    elif status == "overdue":
        invoices = invoices.overdue(today)
    elif status == "paid":
        invoices = invoices.filter(status=InvoiceStatus.ISSUED, amount_due=0).exclude(
            amount_written_off__gt=0, amount_paid=0
        )
    elif status == "written_off":
        invoices = invoices.filter(status=InvoiceStatus.ISSUED, amount_written_off__gt=0)
    elif status == "void":
        invoices = invoices.filter(status=InvoiceStatus.VOID)
    elif status == "disputed":
        invoices = invoices.filter(status=InvoiceStatus.ISSUED).disputed_on(today)
    if f.get("customer"):
        invoices = invoices.filter(customer=f["customer"])
    if f.get("date_from"):
        invoices = invoices.filter(issue_date__gte=f["date_from"])
    if f.get("date_to"):
        invoices = invoices.filter(issue_date__lte=f["date_to"])
    # total >= / <= written with the leakproof operators, so row-level security lets
    # lp_invoice_total serve them (accounts.search_ops; numeric comparisons are not leakproof)
    if f.get("amount_min") is not None:
        invoices = invoices.filter(AmountAtLeast(F("total"), f["amount_min"]))
    if f.get("amount_max") is not None:
        invoices = invoices.filter(AmountAtMost(F("total"), f["amount_max"]))
    q = (f.get("q") or "").strip()
    if q:
        invoices = invoices.filter(
            Q(number__icontains=q)
            | Q(customer__name__icontains=q)
            | Q(customer__code__iexact=q)
            | Q(reference__icontains=q)
        )
    return form, invoices
