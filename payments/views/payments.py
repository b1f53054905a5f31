"""Payments pages: the list (filters, totals, CSV), recording a payment with its allocation,
the payment page, applying credit later, un-applying, refunds, reversals and the receipt PDF.

Reading is for every member; every change is a POST by finance staff or owners, and the
destructive ones (reverse, un-apply) first show a confirmation page holding the form. Every
write form carries a per-rendered-form key, so a double submission acts once.
"""

from decimal import Decimal

from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.ledger import LedgerError, customer_balance, new_idempotency_key
from accounts.models import Customer, Role
from accounts.models_org import today_in
from accounts.money import format_money, quantum
from accounts.permissions import can, org_view
from accounts.selection import parse_ids
from invoicing.models import CreditNote, Invoice
from invoicing.services import WRITE_OFF_KINDS, short_payment_tolerance, write_off
from ledger_site import listing
from ledger_site.exports import csv_stream_response
from ledger_site.listing import CountedPaginator, capped, capped_count, more_than_cap
from ledger_site.sorting import sort_order
from ledger_site.tenancy import tenant_context
from payments.forms import (
    AllocationModeForm,
    PaymentFilterForm,
    PaymentForm,
    RefundForm,
    ReverseForm,
    UnapplyForm,
    manual_amounts,
)
from payments.models import Allocation, Payment
from payments.receipt import render_receipt
from payments.screen import allocation_rows
from payments.services import (
    _OPEN,
    AUTO,
    MANUAL,
    DuplicateSubmission,
    RateToConfirm,
    apply_source,
    apply_unapplied_credit,
    build_plan,
    customer_unapplied_credit,
    needs_large_confirmation,
    open_invoices,
    record_payment,
    refund_payment,
    reverse_payment,
    unapply_allocation,
)
from payments.templatetags.payment_tags import INVOICE_STATUS

PAGE_SIZE = 50


def get_payment(request, pk) -> Payment:
    return get_object_or_404(
        Payment.objects.select_related("customer", "deposit_account", "entry", "reversal_entry", "created_by"),
        organization=request.org, pk=pk)


def _detail(request, payment):
    return redirect("payment_detail", org_slug=request.org.slug, pk=payment.pk)


def _error_text(e: LedgerError) -> str:
    return " ".join(e.messages)


# --- List and export ---------------------------------------------------------------------------

def filter_payments(org, data):
    form = PaymentFilterForm(data or None, org=org)
    payments = Payment.objects.filter(organization=org)
    if form.is_bound and not form.is_valid():
        # As the invoice list: a filter that could not be read (an ambiguous customer name, a bad
        # date) shows its message and no rows, never the unfiltered set as if it were filtered.
        return form, payments.none()
    if form.is_bound:
        f = form.cleaned_data
        if f["q"]:
            payments = payments.filter(reference__icontains=f["q"].strip())
        if f["date_from"]:
            payments = payments.filter(received_date__gte=f["date_from"])
        if f["date_to"]:
            payments = payments.filter(received_date__lte=f["date_to"])
        if f["customer"]:
            payments = payments.filter(customer=f["customer"])
        if f["method"]:
            payments = payments.filter(method=f["method"])
        if f["account"]:
            payments = payments.filter(deposit_account=f["account"])
        if f["unapplied"]:
            payments = payments.filter(reversed_at__isnull=True).annotate(open_amount=_OPEN).filter(
                open_amount__gt=0)
    return form, payments


@org_view(Role.VIEWER)
def payment_list(request):
    form, payments = filter_payments(request.org, request.GET)
    live = Q(reversed_at__isnull=True)
    # The count up to CAP + 1 (ids only), then the totals within the cap (ledger_site.listing):
    # above it, "more than CAP" and no totals.
    count = capped_count(payments)
    more = more_than_cap(count)
    totals = [] if more else list(capped(payments).order_by().values("currency").annotate(
        count=Count("pk"), received=Sum("amount", filter=live), unapplied=Sum(_OPEN, filter=live),
        reversed=Count("pk", filter=~live)).order_by("currency"))
    sort, order = sort_order("payments", request.GET.get("sort"))  # the keys: ledger_site.sorting
    rows = payments.select_related("customer", "deposit_account").order_by(*order)
    page = CountedPaginator(rows, PAGE_SIZE, count, more=more).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "payments/payment_list.html", {
        "form": form, "page": page, "totals": totals, "query": query.urlencode(), "sort": sort,
        "more_than": listing.CAP if more else None,
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")),
        "any_payment": Payment.objects.filter(organization=request.org).exists(),
        "can_act": can(request, Role.FINANCE),
    })


CSV_HEADER = ["id", "received_date", "customer_code", "customer", "currency", "amount", "allocated", "refunded",
              "unapplied", "method", "reference", "deposited_to", "status", "reversed_on", "reversal_reason"]


@org_view(Role.VIEWER)
def payment_export(request):
    """The filtered payments as CSV, streamed in chunks: works for any size."""
    _form, payments = filter_payments(request.org, request.GET)
    return export_response(request.org, request.user, payments.values("pk"))


@require_POST
@org_view(Role.FINANCE)
def payment_bulk(request):
    """"Export selected": the ticked payments as the list's CSV; changes nothing. (No bulk reverse:
    a reversal is a money event decided one payment at a time, with its own reason and date.)"""
    back = QueryDict(request.POST.get("back", "")[:2000]).urlencode()
    try:
        ids = parse_ids(request.POST.getlist("ids"))
    except ValueError as e:
        messages.error(request, str(e))
        return redirect(reverse("payment_list", kwargs={"org_slug": request.org.slug}) + (f"?{back}" if back else ""))
    return export_response(request.org, request.user, ids)


def export_response(org, user, ids):
    """These payments (ids, or a subquery of pks) as the list's CSV, streamed."""

    def rows():
        yield CSV_HEADER
        # The body streams after the view and the tenancy middleware returned: act for the
        # organization again while reading.
        with tenant_context(org, user):
            qs = (Payment.objects.filter(organization=org, pk__in=ids)
                  .select_related("customer", "deposit_account").order_by("received_date", "pk"))
            for p in qs.iterator(chunk_size=2000):
                yield [
                    p.pk, p.received_date, p.customer.code, p.customer.name,
                    p.currency, p.amount, p.amount_allocated, p.amount_refunded, p.unapplied, p.method,
                    p.reference, p.deposit_account.code, status_of(p),
                    p.reversed_at.astimezone(org.zone).date() if p.reversed_at else "",
                    p.reversal_reason,
                ]

    return csv_stream_response(rows(), f"payments-{org.slug}-{today_in(org):%Y%m%d}.csv")


def status_of(payment: Payment) -> str:
    if payment.reversed_at:
        return "reversed"
    if payment.unapplied == 0:
        return "applied"
    if payment.amount_allocated or payment.amount_refunded:
        return "partly_applied"
    return "unapplied"


# --- Record a payment (with its allocation) ------------------------------------------------------

def _chosen_customer(org, raw):
    if raw in (None, ""):
        return None
    if isinstance(raw, Customer):
        return raw
    raw = str(raw)
    if not raw.isdigit():
        return None
    return Customer.objects.filter(organization=org, archived_at__isnull=True, pk=int(raw)).first()


SCREEN_FIELDS = ("pk", "organization_id", "customer_id", "number", "status", "currency", "issue_date", "due_date",
                 "total", "amount_paid", "amount_written_off", "amount_due", "disputed_at", "dispute_until")


def screen_invoices(customer) -> list:
    """The customer's open invoices for the allocation screen: one query, only what it shows."""
    return list(open_invoices(customer).only(*SCREEN_FIELDS))


def _allocation_screen(org, invoices, available, currency, mode, manual, preview, data=None):
    plan = build_plan(invoices, available, currency, mode, manual)
    rows = allocation_rows(org, plan, currency, typed=data if mode == MANUAL else None)
    labels = {status: str(label) for status, (label, _css) in INVOICE_STATUS.items()}
    return {"plan": plan, "rows_html": rows, "mode": mode, "preview": preview, "currency": currency,
            "status_labels": labels}


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def payment_create(request):
    org = request.org
    if request.method == "POST":
        data = request.POST.copy()
        action = data.get("action", "save")
        # "reload": allocation.js re-renders the screen for a newly chosen customer. It previews
        # like the button, but the user has not asked to check the form: see _hide_required_errors.
        reload = action == "reload"
        if reload:
            action = "preview"
        form = PaymentForm(data, org=org)
        customer = form.chosen_customer()
        adjusted = False
        if action == "preview" and customer and data.get("currency", "").upper() != customer.currency:
            data["currency"] = customer.currency  # the preview follows the chosen customer (form.data is data)
            adjusted = True
        valid = form.is_valid()
        if reload:
            _hide_required_errors(form)
        if adjusted:
            messages.info(request, _("Currency set to %(cur)s, the currency %(name)s pays in.")
                          % {"cur": customer.currency, "name": customer.name})
        mode = data.get("mode") if data.get("mode") in (AUTO, MANUAL) else AUTO
        manual = manual_amounts(data) if mode == MANUAL else {}
    else:
        action, valid, mode, manual = None, False, AUTO, {}
        customer = _chosen_customer(org, request.GET.get("customer"))
        form = PaymentForm(org=org, initial={
            "customer": customer, "currency": customer.currency if customer else org.base_currency,
            "received_date": today_in(request.org), "mode": AUTO, "idempotency_key": new_idempotency_key(),
        })
        form.initial["deposit_account"] = next((a.pk for a in form.accounts if a.system_key == "bank"), None)
    amount = form.cleaned_data.get("amount") if valid or hasattr(form, "cleaned_data") else None
    currency = customer.currency if customer else org.base_currency
    invoices = screen_invoices(customer) if customer else []
    if request.method == "GET" and customer:
        # The invoice page's "Record payment" (issue 21 point 1): that invoice's amount due,
        # applied to it; the clerk changes the amount if less (or more) came in.
        target = next((i for i in invoices if str(i.pk) == request.GET.get("invoice", "")), None)
        if target is not None and target.amount_due > 0:
            due = target.amount_due.quantize(quantum(currency))
            amount, mode, manual = due, MANUAL, {target.pk: due}
            form.initial.update(amount=due, mode=MANUAL)
    screen = _allocation_screen(org, invoices, amount or Decimal(0), currency, mode, manual,
                                preview=action == "preview", data=request.POST if action else None)
    if action == "save" and valid:
        key = form.cleaned_data["idempotency_key"]
        done = Payment.objects.filter(organization=org, idempotency_key=key).first()
        if done is not None:
            messages.info(request, _("This payment was already recorded; it was not recorded again."))
            return _detail(request, done)
        plan = screen["plan"]
        owed = customer_balance(form.cleaned_data["customer"])
        if mode == MANUAL and not plan.ok:
            form.add_error(None, _("Fix the amounts to apply below."))
        elif needs_large_confirmation(form.cleaned_data["amount"], owed) and not form.cleaned_data["confirm_large"]:
            form.ask_large_confirmation(owed)
        else:
            f = form.cleaned_data
            # Received in another currency: the bank's amount is recorded, at the rate the two amounts make.
            received = form.conversion()
            try:
                payment = record_payment(
                    org, f["customer"], amount=received[0] if received else f["amount"],
                    currency=received[1] if received else f["currency"], received_date=f["received_date"],
                    rate=received[2] if received else None, confirm_rate=f.get("confirm_rate", False),
                    method=f["method"], deposit_account=f["deposit_account"], reference=f["reference"],
                    notes=f["notes"], idempotency_key=key, actor=request.user,
                    allocation=AUTO if mode == AUTO else {k: v for k, v in manual.items() if v},
                )
            except RateToConfirm as e:
                form.ask_rate_confirmation(_error_text(e))
            except LedgerError as e:
                form.add_error(None, _error_text(e))
            else:
                messages.success(request, _recorded_message(payment))
                return _detail(request, payment)
    return render(request, "payments/payment_form.html", {
        "form": form, "customer": customer, **screen,
        "existing_credit": customer_unapplied_credit(customer) if customer else Decimal(0),
    })


def _hide_required_errors(form):
    """Drop "This field is required" for fields not filled in yet (the amount, right after choosing
    the customer); keep what is wrong with what was typed. The form stays invalid: nothing saves."""
    for name, errors in list(form.errors.items()):
        errors.data = [e for e in errors.as_data() if e.code != "required"]
        if not errors:
            del form.errors[name]


def _recorded_message(payment: Payment) -> str:
    cur = payment.currency
    if payment.amount_allocated and payment.unapplied:
        return _("Payment of %(amount)s recorded: %(applied)s applied, %(left)s left as unapplied credit.") % {
            "amount": format_money(payment.amount, cur), "applied": format_money(payment.amount_allocated, cur),
            "left": format_money(payment.unapplied, cur)}
    if payment.amount_allocated:
        return _("Payment of %(amount)s recorded and applied in full.") % {"amount": format_money(payment.amount,
                                                                                                   cur)}
    return _("Payment of %(amount)s recorded as unapplied credit.") % {"amount": format_money(payment.amount, cur)}


# --- The payment page ------------------------------------------------------------------------------

@org_view(Role.VIEWER)
def payment_detail(request, pk):
    payment = get_payment(request, pk)
    allocations = list(Allocation.objects.filter(payment=payment).select_related("invoice", "reversed_by")
                       .order_by("created_at", "pk"))
    return render(request, "payments/payment_detail.html", {
        "payment": payment, "allocations": allocations, "status": status_of(payment),
        "refunds": list(payment.refunds.select_related("account").order_by("refund_date", "pk")),
        "can_act": can(request, Role.FINANCE), "short_rests": _short_rests(payment, allocations),
    })


def _short_rests(payment, allocations) -> list:
    """Invoices this payment paid that are left open by no more than a discount or a bank fee can be
    (invoicing.services.short_payment_tolerance): the page offers to book the rest."""
    if payment.reversed_at:
        return []
    seen, out = set(), []
    for a in allocations:
        inv = a.invoice
        if a.amount > 0 and not hasattr(a, "reversed_by") and inv.pk not in seen and inv.status == "issued" \
                and 0 < inv.amount_due <= short_payment_tolerance(inv.total, inv.currency):
            seen.add(inv.pk)
            out.append(inv)
    return out


@org_view(Role.FINANCE)
@require_POST
def payment_settle_short(request, pk):
    """Book what this payment left open on one of its invoices as an early-payment discount or a bank
    fee, through the write-off service (its tolerance and kinds; one home)."""
    payment = get_payment(request, pk)
    raw = request.POST.get("invoice", "")
    invoice = Invoice.objects.filter(organization=request.org, pk=raw, allocations__payment=payment).first() \
        if raw.isdigit() else None
    kind = request.POST.get("kind", "")
    try:
        if invoice is None:
            raise LedgerError(_("Choose an invoice this payment paid."))
        if kind not in ("discount", "bank_fee"):
            raise LedgerError(_("Book the difference as a discount or a bank fee, or leave it open."))
        reason = request.POST.get("reason", "").strip() or _("Paid short by payment %(ref)s: %(kind)s") % {
            "ref": payment.reference or f"#{payment.pk}", "kind": WRITE_OFF_KINDS[kind]}
        write_off(invoice, invoice.amount_due, reason, actor=request.user, kind=kind,
                  idempotency_key=f"payment:{payment.pk}:settle:{invoice.pk}:{invoice.write_offs.count()}")
    except LedgerError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, _("%(n)s: the rest is booked as %(kind)s.") % {"n": invoice.number,
                                                                                  "kind": WRITE_OFF_KINDS[kind]})
    return _detail(request, payment)


# --- Apply credit later ----------------------------------------------------------------------------

def _apply_screen(request, source, back_url, title):
    invoices = screen_invoices(source.customer)
    post = request.method == "POST"
    form = AllocationModeForm(request.POST if post else None,
                              initial={"mode": AUTO, "idempotency_key": new_idempotency_key()})
    mode = request.POST.get("mode") if post and request.POST.get("mode") in (AUTO, MANUAL) else AUTO
    manual = manual_amounts(request.POST) if post and mode == MANUAL else {}
    action = request.POST.get("action", "save") if post else None
    screen = _allocation_screen(request.org, invoices, source.unapplied, source.currency, mode, manual,
                                preview=action == "preview", data=request.POST if post else None)
    if action == "save" and form.is_valid():
        plan = screen["plan"]
        if mode == MANUAL and not plan.ok:
            form.add_error(None, _("Fix the amounts to apply below."))
        else:
            try:
                made = apply_source(source, AUTO if mode == AUTO else {k: v for k, v in manual.items() if v},
                                    actor=request.user, idempotency_key=form.cleaned_data["idempotency_key"])
            except DuplicateSubmission as e:
                messages.info(request, _error_text(e))
                return redirect(back_url)
            except LedgerError as e:
                form.add_error(None, _error_text(e))
            else:
                total = sum((m.amount for m in made), Decimal(0))
                messages.success(request, _("%(amount)s applied to %(n)s invoice(s).")
                                 % {"amount": format_money(total, source.currency), "n": len(made)})
                return redirect(back_url)
    return render(request, "payments/apply.html", {
        "form": form, "source": source, "customer": source.customer, "back_url": back_url, "title": title,
        "is_payment": isinstance(source, Payment), **screen,
    })


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def payment_apply(request, pk):
    payment = get_payment(request, pk)
    back = reverse("payment_detail", kwargs={"org_slug": request.org.slug, "pk": payment.pk})
    if payment.reversed_at or payment.unapplied <= 0:
        messages.info(request, _("This payment has nothing left to apply."))
        return redirect(back)
    return _apply_screen(request, payment, back, _("Apply payment %(ref)s") % {
        "ref": payment.reference or f"#{payment.pk}"})


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def credit_note_apply(request, pk):
    note = get_object_or_404(CreditNote.objects.select_related("customer"), organization=request.org, pk=pk)
    back = reverse("customer_detail", kwargs={"org_slug": request.org.slug, "pk": note.customer_id})
    if note.unapplied <= 0:
        messages.info(request, _("Credit note %(n)s has nothing left to apply.") % {"n": note.number})
        return redirect(back)
    return _apply_screen(request, note, back, _("Apply credit note %(n)s") % {"n": note.number})


@require_POST
@org_view(Role.FINANCE)
def invoice_apply_credit(request, pk):
    """Apply the customer's unapplied credit to one invoice (offered when the invoice is issued)."""
    invoice = get_object_or_404(Invoice, organization=request.org, pk=pk)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("invoice_detail", kwargs={"org_slug": request.org.slug, "pk": invoice.pk})
    try:
        made = apply_unapplied_credit(invoice, actor=request.user,
                                      idempotency_key=request.POST.get("idempotency_key", ""))
    except DuplicateSubmission as e:
        messages.info(request, _error_text(e))
    except LedgerError as e:
        messages.error(request, _error_text(e))
    else:
        if made:
            total = sum((m.amount for m in made), Decimal(0))
            messages.success(request, _("%(amount)s of unapplied credit applied to %(n)s.")
                             % {"amount": format_money(total, invoice.currency), "n": invoice})
        else:
            messages.info(request, _("There was no unapplied credit to apply, or nothing is due."))
    return redirect(target)


# --- Un-apply, refund, reverse -----------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def allocation_unapply(request, pk):
    allocation = get_object_or_404(Allocation.objects.select_related("invoice", "payment", "credit_note",
                                                                     "reversed_by"),
                                   organization=request.org, pk=pk, amount__gt=0)
    if allocation.payment_id:
        back = reverse("payment_detail", kwargs={"org_slug": request.org.slug, "pk": allocation.payment_id})
    else:
        back = reverse("invoice_detail", kwargs={"org_slug": request.org.slug, "pk": allocation.invoice_id})
    if hasattr(allocation, "reversed_by"):
        messages.info(request, _("This application was already undone."))
        return redirect(back)
    form = UnapplyForm(request.POST or None, initial={"idempotency_key": new_idempotency_key()})
    if request.method == "POST" and form.is_valid():
        try:
            unapply_allocation(allocation, form.cleaned_data["reason"], actor=request.user,
                               idempotency_key=form.cleaned_data["idempotency_key"])
        except DuplicateSubmission as e:
            messages.info(request, _error_text(e))
            return redirect(back)
        except LedgerError as e:
            form.add_error(None, _error_text(e))
        else:
            messages.success(request, _("%(amount)s un-applied from %(n)s; it is unapplied credit again.")
                             % {"amount": format_money(allocation.amount, allocation.invoice.currency),
                                "n": allocation.invoice})
            return redirect(back)
    return render(request, "payments/confirm.html", {
        "form": form, "back_url": back, "danger": True, "button": _("Un-apply"),
        "crumb": allocation.payment.reference or f"#{allocation.payment_id}" if allocation.payment_id
        else str(allocation.invoice),
        "title": _("Un-apply %(amount)s from %(n)s?") % {
            "amount": format_money(allocation.amount, allocation.invoice.currency), "n": allocation.invoice},
        "question": _("The invoice owes this amount again and the money becomes unapplied credit. The original "
                      "application stays on record, with a reversing row next to it."),
    })


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def payment_refund(request, pk):
    payment = get_payment(request, pk)
    if payment.reversed_at or payment.unapplied <= 0:
        messages.info(request, _("This payment has no unapplied credit to refund."))
        return _detail(request, payment)
    form = RefundForm(request.POST or None, payment=payment, initial={
        "amount": payment.unapplied.quantize(quantum(payment.currency)), "refund_date": today_in(request.org),
        "method": payment.method, "account": payment.deposit_account, "idempotency_key": new_idempotency_key()})
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data
        try:
            refund = refund_payment(payment, amount=f["amount"], refund_date=f["refund_date"], method=f["method"],
                                    account=f["account"], reference=f["reference"], notes=f["notes"],
                                    idempotency_key=f["idempotency_key"], actor=request.user)
        except LedgerError as e:
            form.add_error(None, _error_text(e))
        else:
            messages.success(request, _("Refund of %(amount)s recorded.") % {
                "amount": format_money(refund.amount, refund.currency)})
            return _detail(request, payment)
    open_due = sum((i.amount_due for i in open_invoices(payment.customer).only("amount_due")), Decimal(0))
    return render(request, "payments/refund_form.html", {"form": form, "payment": payment, "open_due": open_due})


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def payment_reverse(request, pk):
    payment = get_payment(request, pk)
    if payment.reversed_at:
        messages.info(request, _("This payment was already reversed."))
        return _detail(request, payment)
    form = ReverseForm(request.POST or None, initial={"effective_date": today_in(request.org),
                                                      "idempotency_key": new_idempotency_key()})
    if request.method == "POST" and form.is_valid():
        try:
            reverse_payment(payment, reason=form.cleaned_data["reason"], actor=request.user,
                            effective_date=form.cleaned_data["effective_date"],
                            idempotency_key=form.cleaned_data["idempotency_key"])
        except DuplicateSubmission as e:
            messages.info(request, _error_text(e))
            return _detail(request, payment)
        except LedgerError as e:
            form.add_error(None, _error_text(e))
        else:
            messages.success(request, _("Payment reversed. The invoices it paid are open again."))
            return _detail(request, payment)
    live = list(Allocation.objects.filter(payment=payment, amount__gt=0, reversed_by__isnull=True)
                .select_related("invoice").order_by("pk"))
    return render(request, "payments/confirm.html", {
        "form": form, "back_url": reverse("payment_detail", kwargs={"org_slug": request.org.slug, "pk": payment.pk}),
        "danger": True, "button": _("Reverse payment"), "payment": payment, "live": live,
        "crumb": payment.reference or f"#{payment.pk}",
        "title": _("Reverse payment %(ref)s?") % {"ref": payment.reference or f"#{payment.pk}"},
        "question": _("Use this when the payment bounced or was recorded by mistake. The receipt is reversed in "
                      "the ledger (%(amount)s back onto the customer's account), every invoice it paid is "
                      "open again, and the invoice timelines say why.") % {
            "amount": format_money(payment.amount, payment.currency)},
        "blocked": _("Part of this payment was refunded, so it cannot bounce.") if payment.amount_refunded else "",
    })


@org_view(Role.VIEWER)
def payment_receipt(request, pk):
    payment = get_payment(request, pk)
    pdf = render_receipt(payment)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.pk}.pdf"'
    return response
