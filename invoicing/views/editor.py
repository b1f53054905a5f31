"""The draft editor: header form + line formset, totals by the one rule, live in the browser.

Works without JavaScript: "Add line" and "Recalculate" are submit buttons that re-render the
form (nothing is saved); static/js/invoice_form.js handles both in the page when it can.
"""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.ledger import LedgerError
from accounts.locale import format_input
from accounts.models import Customer, Role
from accounts.models_org import today_in
from accounts.money import minor_units
from accounts.permissions import org_view
from invoicing.forms import InvoiceForm, LineFormSet, active_tax_rates, check_preview, preview_totals
from invoicing.items import items_by_id
from invoicing.models import Invoice, InvoiceLine, InvoiceSettings, TaxRate
from invoicing.services import MAX_LINES, issue_invoice, save_draft
from invoicing.totals import LineAmounts, sum_lines

PREFIX = "lines"
BLANK_ROWS_NEW = 3


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def invoice_create(request):
    return _editor(request, None)


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def invoice_edit(request, pk):
    invoice = get_object_or_404(Invoice, organization=request.org, pk=pk)
    if not invoice.is_draft:
        messages.error(request, _("Invoice %(number)s is issued and can no longer be edited; nothing was changed. "
                                  "Issue a credit note or void it instead.") % {"number": invoice.number})
        return redirect("invoice_detail", org_slug=request.org.slug, pk=invoice.pk)
    return _editor(request, invoice)


def default_tax_rate(org):
    """The rate of the most recently written line, else the highest active rate."""
    recent = (InvoiceLine.objects.filter(organization=org, tax_rate__archived=False)
              .order_by("-pk").values_list("tax_rate_id", flat=True).first())
    if recent:
        return recent
    rate = TaxRate.objects.filter(organization=org, archived=False).order_by("-percent", "name").first()
    return rate.pk if rate else None


def _editor(request, invoice):
    org = request.org
    keep = set(invoice.lines.exclude(tax_rate=None).values_list("tax_rate_id", flat=True)) if invoice else set()
    rates = list(active_tax_rates(org, keep))
    action = request.POST.get("action", "save") if request.method == "POST" else None
    preview = None
    if request.method == "POST":
        form = InvoiceForm(request.POST, org=org, instance=invoice)
        formset = LineFormSet(request.POST, prefix=PREFIX, tax_rates=rates)
        if action == "add_line":
            form, formset = _unbound_copy(request, form, formset, rates, org, invoice)
        else:
            valid = form.is_valid() and formset.is_valid()
            if valid:
                preview = preview_totals(formset.lines(), form.cleaned_data["discount_percent"],
                                         form.cleaned_data["customer"].currency)
                valid = check_preview(preview, formset)
            if not valid:
                preview = None
            elif action in ("save", "save_issue"):
                return _save(request, invoice, form, formset, issue=action == "save_issue")
    else:
        form, formset = _initial_forms(request, org, invoice, rates)
    return _render(request, invoice, form, formset, preview, rates)


def _save(request, invoice, form, formset, issue=False):
    fields = {k: form.cleaned_data[k] for k in ("customer", "issue_date", "due_date", "reference",
                                                  "discount_percent", "notes", "terms")}
    lines = [{k: line[k] for k in ("description", "quantity", "unit", "unit_price", "discount_percent",
                                   "tax_rate")} for line in formset.lines()]
    known = items_by_id(request.org, [line.get("item") for line in formset.lines()])
    for line, cleaned in zip(lines, formset.lines(), strict=True):
        line["item"] = known.get(cleaned.get("item"))
    try:
        saved = save_draft(request.org, invoice, fields, lines, actor=request.user)
    except LedgerError as e:
        messages.error(request, " ".join(e.messages))
        if invoice is None:
            return redirect("invoice_list", org_slug=request.org.slug)
        return redirect("invoice_detail", org_slug=request.org.slug, pk=invoice.pk)
    if issue:  # "Save & issue" (issue 21 point 5): one page instead of three
        try:
            with transaction.atomic():  # a refusal (credit control, lock date) keeps the saved draft
                saved = issue_invoice(saved, actor=request.user)
        except LedgerError as e:
            messages.error(request, _("Draft saved, not issued: %(error)s") % {"error": " ".join(e.messages)})
        else:
            messages.success(request, _("Invoice %(number)s issued.") % {"number": saved.number})
        return redirect("invoice_detail", org_slug=request.org.slug, pk=saved.pk)
    messages.success(request, _("Draft saved.") if invoice else _("Draft created."))
    return redirect("invoice_detail", org_slug=request.org.slug, pk=saved.pk)


def _initial_forms(request, org, invoice, rates):
    default_rate = default_tax_rate(org)
    if invoice is None:
        settings = InvoiceSettings.objects.get(organization=org)
        today = today_in(org)
        initial = {"issue_date": today, "notes": settings.default_notes, "terms": settings.default_terms,
                   "discount_percent": "0"}
        customer = Customer.objects.filter(organization=org, archived_at__isnull=True,
                                           pk=request.GET.get("customer") or 0).first() \
            if (request.GET.get("customer") or "").isdigit() else None
        if customer is not None:
            initial["customer"] = customer.pk
            initial["due_date"] = today + timezone.timedelta(days=customer.payment_terms_days)
        form = InvoiceForm(org=org, initial=initial)
        rows = [{"tax_rate": default_rate, "discount_percent": "0"} for _ in range(BLANK_ROWS_NEW)]
    else:
        form = InvoiceForm(org=org, instance=invoice,
                           initial={"discount_percent": _plain(invoice.discount_percent)})
        rows = [li.editor_row(_plain) for li in invoice.lines.all()]
        rows.append({"tax_rate": rows[-1]["tax_rate"] if rows else default_rate, "discount_percent": "0"})
    formset = LineFormSet(prefix=PREFIX, initial=rows[:MAX_LINES], tax_rates=rates)
    return form, formset


def _plain(value) -> str:
    """A stored Decimal as typed: 2.000 → 2, 12.5000 → 12.5 (12,5 in German: accounts.locale)."""
    if value is None:
        return ""
    return format_input(value.normalize(), grouped=False)


def _unbound_copy(request, form, formset, rates, org, invoice):
    """Re-render what was typed, plus one blank row, without validating (the no-JS "Add line")."""
    header = {name: form[name].data for name in form.fields}  # the customer picker reads two inputs
    rows = []
    for f in formset.forms:
        if f.data.get(f.add_prefix("DELETE")):
            continue
        rows.append({name: f.data.get(f.add_prefix(name), "") for name in f.fields if name != "DELETE"})
    last_rate = rows[-1].get("tax_rate") if rows else default_tax_rate(org)
    rows.append({"tax_rate": last_rate, "discount_percent": "0"})
    return (InvoiceForm(org=org, instance=invoice, initial=header),
            LineFormSet(prefix=PREFIX, initial=rows[:MAX_LINES], tax_rates=rates))


def _render(request, invoice, form, formset, preview, rates):
    amounts, totals = {}, None
    if preview is not None:
        amounts = {id(f): a for f, (_line, a) in zip(formset.kept_forms(), preview.lines, strict=True)}
        totals = preview.totals
    elif invoice is not None and not form.is_bound:
        stored = list(invoice.lines.all())
        amounts = {id(f): LineAmounts(li.gross_amount, li.net_amount, li.tax_amount)
                   for f, li in zip(formset.forms, stored, strict=False)}
        totals = sum_lines([(li.tax_percent, amounts[id(f)]) for f, li in zip(formset.forms, stored, strict=False)])
    rows = [(f, amounts.get(id(f))) for f in formset.forms]
    currency = _currency(form, invoice)
    settings = InvoiceSettings.objects.get(organization=request.org)
    return render(request, "invoicing/invoice_form.html", {
        "invoice": invoice, "form": form, "formset": formset, "rows": rows, "totals": totals,
        "currency": currency, "minor_units": minor_units(currency) if currency else 2,
        "settings": settings, "max_lines": MAX_LINES, "has_rates": bool(formset.tax_rates),
        "tax_options": formset.tax_options(),
        "creating": invoice is None,
        "item_lookup_url": reverse("item_lookup", kwargs={"org_slug": request.org.slug}),
    })


def _currency(form, invoice):
    if form.is_bound:
        customer = form.cleaned_data.get("customer") if hasattr(form, "cleaned_data") else None
    else:
        customer = form.fields["customer"].customer_for(form.initial.get("customer"))
    if customer is not None:
        return customer.currency
    if invoice is not None:
        return invoice.currency
    return None
