"""The invoice page ("Invoice tab") and its lifecycle actions.

Every state change is a POST by finance staff or owners. Destructive ones (delete a draft, void,
write off, credit) first show a confirmation page (GET) holding the form; the POST performs.
Write-offs and credit notes carry a per-rendered-form idempotency key, so a double submission
posts once.
"""

import logging
from decimal import Decimal

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.ledger import LedgerError, new_idempotency_key
from accounts.models import JournalEntry, Role
from accounts.money import format_money, quantum
from accounts.permissions import can, org_view
from invoicing import mail
from invoicing.credit_control import credit_check
from invoicing.credit_notes import (
    amount_items,
    credit_amount,
    credit_invoice_lines,
    credited_quantities,
    line_items,
    preview,
)
from invoicing.forms import (
    CreditAmountForm,
    CreditLinesForm,
    DisputeForm,
    VoidForm,
    WriteOffForm,
    percent_value,
)
from invoicing.hooks import ALLOCATIONS
from invoicing.mail import emailed_annotation
from invoicing.models import CreditNote, Invoice, InvoiceKind, InvoiceSettings, InvoiceStatus
from invoicing.services import (
    clear_dispute,
    delete_draft,
    duplicate_invoice,
    issue_invoice,
    set_dispute,
    void_invoice,
    write_off,
)
from invoicing.totals import LineAmounts, sum_lines

DOCUMENT_ACTIONS = "invoicing/_document_actions.html"
logger = logging.getLogger(__name__)


def get_invoice(request, pk, **filters) -> Invoice:
    return get_object_or_404(Invoice.objects.select_related("customer"), organization=request.org, pk=pk,
                             **filters)


def has_template(name: str) -> bool:
    """Whether another part of the product provides this partial (and it compiles)."""
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    except TemplateSyntaxError:
        logger.exception("%s does not compile; the invoice page is shown without it", name)
        return False
    return True


def _back(request, invoice):
    return redirect("invoice_detail", org_slug=request.org.slug, pk=invoice.pk)


@org_view(Role.VIEWER)
def invoice_detail(request, pk):
    invoice = get_object_or_404(Invoice.objects.select_related("customer", "issued_by", "disputed_by")
                                .annotate(emailed=emailed_annotation()), organization=request.org, pk=pk)
    lines = list(invoice.lines.select_related("tax_rate"))
    summary = sum_lines([(li.tax_percent, LineAmounts(li.gross_amount, li.net_amount, li.tax_amount))
                         for li in lines]).tax_summary
    snapshot = invoice.snapshot or {}
    org, customer = request.org, invoice.customer
    seller = snapshot.get("seller") or {"name": org.name, "address": org.address, "tax_id": org.tax_id}
    buyer = snapshot.get("buyer") or {"name": customer.name, "code": customer.code,
                                      "address": customer.billing_address, "tax_id": customer.tax_id,
                                      "emails": customer.email_list, "contact": customer.contact_person}
    settings = InvoiceSettings.objects.get(organization=org)
    payment = snapshot.get("payment") or {"methods": settings.payment_methods, "bank_details": settings.bank_details}
    allocations = ALLOCATIONS.of_invoice(invoice)
    credit = None
    if invoice.is_draft and invoice.kind != InvoiceKind.LATE_FEE and can(request, Role.FINANCE):
        # The same check issue_invoice makes, without recording anything: warn before the click.
        credit = credit_check(customer, invoice.total)
    return render(request, "invoicing/invoice_detail.html", {
        "invoice": invoice, "lines": lines, "tax_summary": summary, "seller": seller, "buyer": buyer,
        "payment": payment, "events": list(invoice.events.select_related("actor")),
        "allocations": allocations,
        "credit_notes": list(invoice.credit_notes.order_by("issue_date", "pk")),
        "write_offs": list(invoice.write_offs.select_related("created_by").order_by("created_at")),
        "late_fees": list(invoice.late_fees.order_by("issue_date")),
        "can_act": can(request, Role.FINANCE),
        "credit": credit if credit is not None and not credit.ok else None,
        "is_owner": can(request, Role.OWNER),
        "has_document_actions": has_template(DOCUMENT_ACTIONS),
    })


@require_POST
@org_view(Role.FINANCE)
def invoice_issue(request, pk):
    invoice = get_invoice(request, pk)
    if invoice.status != InvoiceStatus.DRAFT:
        # A double submission, or a stale page: issuing is idempotent by state.
        messages.info(request, _("Invoice %(number)s is already issued.") % {"number": invoice.number})
        return _back(request, invoice)
    try:
        # Present only when an owner used "Issue anyway" (credit control); None otherwise.
        invoice = issue_invoice(invoice, actor=request.user, credit_override=request.POST.get("credit_override"))
    except LedgerError as e:
        messages.error(request, " ".join(e.messages))
        return _back(request, invoice)
    if request.POST.get("then") == "email":  # "Issue & e-mail" (issue 21 point 5)
        return _email_after_issue(request, invoice)
    messages.success(request, _("Invoice %(number)s issued.") % {"number": invoice.number})
    return _back(request, invoice)


def _email_after_issue(request, invoice):
    """E-mail a just-issued invoice with the organization's message to the customer's billing
    addresses; without any, the send page opens so that the clerk can type one."""

    recipients = invoice.customer.email_list
    if not recipients:
        messages.warning(request, _("Invoice %(number)s issued. %(customer)s has no billing e-mail: type an "
                                    "address to send it to.") % {"number": invoice.number,
                                                                 "customer": invoice.customer.name})
        return redirect("invoice_send", org_slug=request.org.slug, pk=invoice.pk)
    message = mail.draft_message(invoice)
    try:
        with transaction.atomic():
            mail.queue_invoice_email(invoice, recipients, message["subject"], message["body"], actor=request.user,
                                     base_url=request.build_absolute_uri("/"))
    except LedgerError as e:
        messages.error(request, _("Invoice %(number)s issued, but not e-mailed: %(error)s")
                       % {"number": invoice.number, "error": " ".join(e.messages)})
        return _back(request, invoice)
    messages.success(request, _("Invoice %(number)s issued and on its way to %(to)s.")
                     % {"number": invoice.number, "to": ", ".join(recipients)})
    return _back(request, invoice)


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def invoice_delete(request, pk):
    invoice = get_invoice(request, pk)
    if not invoice.is_draft:
        messages.error(request, _("Only a draft can be deleted; void an issued invoice instead."))
        return _back(request, invoice)
    if request.method == "POST":
        try:
            delete_draft(invoice)
        except LedgerError as e:
            messages.error(request, " ".join(e.messages))
            return _back(request, invoice)
        messages.success(request, _("Draft deleted."))
        return redirect("invoice_list", org_slug=request.org.slug)
    return render(request, "invoicing/confirm.html", {
        "invoice": invoice, "title": _("Delete this draft?"),
        "question": _("The draft for %(customer)s and its lines are deleted. This cannot be undone.")
        % {"customer": invoice.customer.name},
        "button": _("Delete draft"), "danger": True,
    })


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def invoice_void(request, pk):
    invoice = get_invoice(request, pk)
    if invoice.status != InvoiceStatus.ISSUED:
        messages.error(request, _("Only an issued invoice can be voided."))
        return _back(request, invoice)
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            void_invoice(invoice, form.cleaned_data["reason"], actor=request.user)
        except LedgerError as e:
            form.add_error(None, " ".join(e.messages))
        else:
            messages.success(request, _("Invoice %(number)s voided.") % {"number": invoice.number})
            return _back(request, invoice)
    blocked = not invoice.can_void
    return render(request, "invoicing/confirm.html", {
        "invoice": invoice, "form": form, "title": _("Void invoice %(number)s?") % {"number": invoice.number},
        "question": _("Voiding reverses the invoice in the ledger: the customer no longer owes %(total)s. "
                      "The number stays used.") % {"total": format_money(invoice.total, invoice.currency)},
        "blocked": _("Payments, credits or write-offs are applied to this invoice, so it cannot be voided. "
                     "Issue a credit note instead.") if blocked else "",
        "button": _("Void invoice"), "danger": True,
    })


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def invoice_write_off(request, pk):
    invoice = get_invoice(request, pk)
    key = request.POST.get("idempotency_key", "")
    if request.method == "POST" and _already_done(request.org, f"ui:writeoff:{invoice.pk}:{key}"):
        messages.info(request, _("This write-off was already recorded."))
        return _back(request, invoice)
    if not invoice.can_write_off:
        messages.error(request, _("Only an issued invoice with an amount due can be written off."))
        return _back(request, invoice)
    if request.method == "POST":
        form = WriteOffForm(request.POST, invoice=invoice)
        if form.is_valid():
            try:
                write_off(invoice, form.cleaned_data["amount"], form.cleaned_data["reason"], actor=request.user,
                          idempotency_key=f"ui:writeoff:{invoice.pk}:{form.cleaned_data['idempotency_key']}")
            except LedgerError as e:
                form.add_error(None, " ".join(e.messages))
            else:
                messages.success(request, _("Written off %(amount)s.")
                                 % {"amount": format_money(form.cleaned_data["amount"], invoice.currency)})
                return _back(request, invoice)
    else:
        form = WriteOffForm(invoice=invoice, initial={"amount": invoice.amount_due.quantize(quantum(invoice.currency)),
                                                      "idempotency_key": new_idempotency_key()})
    return render(request, "invoicing/confirm.html", {
        "invoice": invoice, "form": form,
        "title": _("Write off on %(number)s") % {"number": invoice.number},
        "question": _("A write-off posts the amount to bad-debt expense and reduces what the customer owes. "
                      "At most the amount due (%(due)s).") % {"due": format_money(invoice.amount_due,
                                                                                  invoice.currency)},
        "button": _("Write off"), "danger": True,
    })


def _already_done(org, key) -> bool:
    return JournalEntry.objects.filter(organization=org, idempotency_key=key).exists()


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def invoice_dispute(request, pk):
    invoice = get_invoice(request, pk)
    if invoice.status != InvoiceStatus.ISSUED:
        messages.error(request, _("Only an issued invoice can be disputed."))
        return _back(request, invoice)
    form = DisputeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            set_dispute(invoice, form.cleaned_data["reason"], actor=request.user, until=form.cleaned_data["until"])
        except LedgerError as e:
            form.add_error(None, " ".join(e.messages))
        else:
            messages.success(request, _("Invoice %(number)s is on hold as disputed.") % {"number": invoice.number})
            return _back(request, invoice)
    return render(request, "invoicing/confirm.html", {
        "invoice": invoice, "form": form, "title": _("Mark %(number)s as disputed") % {"number": invoice.number},
        "question": _("A dispute puts the invoice on hold: it is marked everywhere and reminders skip it."),
        "button": _("Mark as disputed"), "danger": False,
    })


@require_POST
@org_view(Role.FINANCE)
def invoice_resolve_dispute(request, pk):
    invoice = get_invoice(request, pk)
    if invoice.disputed_at is None:
        messages.info(request, _("This invoice is not disputed."))
    else:
        clear_dispute(invoice, actor=request.user)
        messages.success(request, _("Dispute resolved."))
    return _back(request, invoice)


@require_POST
@org_view(Role.FINANCE)
def invoice_duplicate(request, pk):
    invoice = get_invoice(request, pk)
    copy = duplicate_invoice(invoice, actor=request.user)
    messages.success(request, _("New draft copied from %(number)s. Review it and save.") % {"number": invoice})
    return redirect("invoice_edit", org_slug=request.org.slug, pk=copy.pk)


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def invoice_credit(request, pk):
    invoice = get_invoice(request, pk)
    if invoice.status != InvoiceStatus.ISSUED:
        messages.error(request, _("Only an issued invoice can be credited."))
        return _back(request, invoice)
    lines = list(invoice.lines.all())
    credited = credited_quantities(invoice)
    already = sum((n.total for n in invoice.credit_notes.all()), Decimal(0))
    limit = invoice.total - already
    percents = sorted({li.tax_percent for li in lines} | {Decimal(0)}, reverse=True)
    mode = request.POST.get("mode") if request.method == "POST" else None
    data = request.POST if request.method == "POST" else None
    key = new_idempotency_key()
    lines_form = CreditLinesForm(data if mode == "lines" else None, invoice=invoice, lines=lines, credited=credited,
                                 initial={"idempotency_key": key}, prefix="lines")
    amount_form = CreditAmountForm(data if mode == "amount" else None, currency=invoice.currency,
                                   percents=percents, limit=limit, prefix="amount",
                                   initial={"idempotency_key": key, "tax_percent": percent_value(percents[0])})
    form = lines_form if mode == "lines" else amount_form if mode == "amount" else None
    review = None
    if form is not None:
        raw_key = request.POST.get(f"{form.prefix}-idempotency_key", "")
        done = _note_for_key(request.org, f"ui:credit:{invoice.customer_id}:{raw_key}")
        if done is not None:
            messages.info(request, _("Credit note %(number)s was already issued.") % {"number": done.number})
            return redirect("credit_note_detail", org_slug=request.org.slug, pk=done.pk)
        if form.is_valid():
            # First the review: what the note totals and where it goes. Issuing is a second click, and
            # only for the total that was reviewed (a quantity changed after the review shows it again).
            try:
                items = (line_items(invoice, form.quantities()) if mode == "lines" else
                         amount_items(invoice.customer, form.cleaned_data["amount"], form.cleaned_data["tax_percent"]))
                review = preview(invoice, items)
            except LedgerError as e:
                form.add_error(None, " ".join(e.messages))
        confirmed = review is not None and request.POST.get("confirm") == "1" and (
            request.POST.get("reviewed_total") == str(review.total))
        if confirmed:
            scoped = f"ui:credit:{invoice.customer_id}:{form.cleaned_data['idempotency_key']}"
            try:
                with transaction.atomic():
                    if mode == "lines":
                        note = credit_invoice_lines(invoice, form.quantities(), form.cleaned_data["reason"],
                                                    actor=request.user, idempotency_key=scoped)
                    else:
                        note = credit_amount(invoice.customer, form.cleaned_data["amount"],
                                             form.cleaned_data["reason"], actor=request.user, invoice=invoice,
                                             tax_percent=form.cleaned_data["tax_percent"], idempotency_key=scoped)
            except LedgerError as e:
                form.add_error(None, " ".join(e.messages))
            else:
                messages.success(request, _("Credit note %(number)s issued for %(total)s.")
                                 % {"number": note.number, "total": format_money(note.total, note.currency)})
                return _back(request, invoice)
    return render(request, "invoicing/credit_form.html", {
        "invoice": invoice, "lines_form": lines_form, "amount_form": amount_form, "mode": mode,
        "limit": limit, "already": already, "review": review,
    })


def _note_for_key(org, key):
    return CreditNote.objects.filter(organization=org, entry__idempotency_key=key).first()
