"""What happens to invoices: drafting, issuing, voiding, writing off, disputing, duplicating.

Each function is one transaction and the only place its rule lives. Amounts post through
`accounts.ledger.post` (DESIGN.md posting rules); idempotency keys make a retried request a
no-op.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts import ledger
from accounts.chart import WRITE_OFF_ACCOUNTS, system_account, write_off_account
from accounts.ledger import LedgerError, Line
from accounts.models import JournalLine
from accounts.models_org import today_in
from accounts.money import MoneyError, check_exact, format_money, round_money
from accounts.related_rows import keep_related
from invoicing import documents, hooks, issuing
from invoicing.amounts import amount_due_of, change_amounts
from invoicing.credit_control import check_on_issue
from invoicing.models import (
    DisputeHoldChange,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceSettings,
    InvoiceStatus,
    WriteOff,
    tax_category,
)
from invoicing.numbering import take_number
from invoicing.totals import LineAmounts, sum_lines

MAX_LINES = 500


class InvoiceError(LedgerError):
    """A refused invoice action; nothing was changed."""


class InvoiceNotFound(InvoiceError):
    """No such invoice in the organization (e.g. an id sent to the API); nothing was changed."""


def record_event(invoice, kind: str, message: str, actor=None, at=None) -> InvoiceEvent:
    return InvoiceEvent.objects.create(organization_id=invoice.organization_id, invoice=invoice, kind=kind,
                                       message=message[:500], actor=actor, at=at or timezone.now())


def recompute_totals(invoice: Invoice, new_lines: list[InvoiceLine] | None = None) -> None:
    """Recompute every line's amounts and the invoice totals (drafts only), and save them.

    `new_lines`: unsaved line objects about to be bulk-created; their amounts are set in place.
    Otherwise the invoice's stored lines are read (one query) and only lines whose amounts
    changed are written back.
    """
    lines = new_lines if new_lines is not None else list(invoice.lines.select_related("tax_rate"))
    _apply_totals(invoice, lines, write_lines=new_lines is None)
    invoice.save(update_fields=TOTAL_FIELDS)


TOTAL_FIELDS = ["subtotal", "discount_total", "tax_total", "total", "amount_due"]


def _apply_totals(invoice: Invoice, lines: list[InvoiceLine], write_lines: bool) -> None:
    """Set each line's amounts and the invoice's totals in memory (the one rule: invoicing.totals);
    with `write_lines`, store the lines whose amounts changed."""
    amounts, changed = [], []
    for line in lines:
        tax_percent = line.rate_percent()
        a = line.amounts(invoice.currency, invoice.discount_percent, tax_percent)
        if (line.tax_percent, line.gross_amount, line.net_amount, line.tax_amount) != (tax_percent, a.gross,
                                                                                         a.net, a.tax):
            line.tax_percent, line.gross_amount, line.net_amount, line.tax_amount = tax_percent, a.gross, a.net, a.tax
            changed.append(line)
        amounts.append((tax_percent, a))
    if write_lines and changed:
        InvoiceLine.objects.bulk_update(changed, ["tax_percent", "gross_amount", "net_amount", "tax_amount"],
                                        batch_size=500)
    totals = sum_lines(amounts)
    invoice.subtotal, invoice.discount_total = totals.subtotal, totals.discount
    invoice.tax_total, invoice.total = totals.tax, totals.total
    invoice.amount_due = amount_due_of(invoice)


def tax_summary(invoice: Invoice):
    amounts = [(line.tax_percent, LineAmounts(line.gross_amount, line.net_amount, line.tax_amount))
               for line in invoice.lines.all()]
    return sum_lines(amounts).tax_summary


def _locked(invoice: Invoice) -> Invoice:
    """The invoice, row-locked (only its own row), with its customer and organization."""
    return Invoice.objects.select_for_update(of=("self",)).select_related("customer", "organization").get(
        pk=invoice.pk)


@transaction.atomic
def issue_invoice(invoice: Invoice, actor=None, issue_date: date | None = None, *, credit_override: str | None = None,
                  credit_control: bool = True) -> Invoice:
    """Freeze a draft: totals, number, seller and buyer snapshot, ledger posting, timeline event.
    The rows move in few round trips (invoicing.issuing); the rules are here.

    Every issue of an organization queues on its number series and its ledger head, so these two
    are taken last: the checks, totals, credit control, snapshot and rate are done first, holding
    only this draft's and its customer's rows; then the number, the posting, the stored invoice
    and its webhook event, and the commit.

    credit_override: an owner's reason to issue past credit control (invoicing.credit_control);
    credit_control=False only for replays of history (the demo), where today's balances mean nothing."""
    draft = issuing.load_draft(invoice.pk, invoice.organization_id)
    if draft is None:
        raise InvoiceNotFound(_("This invoice does not exist."))
    invoice, lines = draft.invoice, draft.lines
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceError(_("Only a draft can be issued; this invoice is already %(status)s.")
                           % {"status": invoice.get_status_display()})
    if issue_date:
        terms = (invoice.due_date - invoice.issue_date).days
        invoice.issue_date, invoice.due_date = issue_date, issue_date + timezone.timedelta(days=terms)
    if not lines:
        raise InvoiceError(_("Add at least one line before issuing."))
    _apply_totals(invoice, lines, write_lines=True)
    if invoice.total <= 0:
        raise InvoiceError(_("The invoice total must be more than zero."))
    if invoice.customer.is_archived:
        raise InvoiceError(_("The customer is archived; restore it before invoicing."))
    if credit_control:
        check_on_issue(invoice, actor, credit_override, draft.credit_figures, draft.today)
    settings = invoice.organization.invoice_settings
    invoice.snapshot = _snapshot(invoice, lines, settings)
    invoice.fx_rate = ledger.rate_of(invoice.organization, invoice.currency, invoice.issue_date)
    render = documents.render_task_row(invoice)
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_at, invoice.issued_by = timezone.now(), actor
    # From here on every other issue of the organization waits for this transaction's commit.
    # A refusal after this point (the ledger's period lock) rolls the number back with the rest.
    invoice.number = take_number(invoice.organization, invoice.kind, invoice.issue_date, settings)
    hooks.emit(invoice.organization_id, "invoice.issued", hooks.invoice_data(invoice))
    invoice.issue_entry = _post_issue(invoice, actor, draft.accounts)  # takes the ledger head's lock
    issuing.store_issued(invoice, _("Issued as %(number)s for %(total)s %(currency)s")
                         % {"number": invoice.number, "total": invoice.total, "currency": invoice.currency}, render)
    # The invoice as stored, with its lines (as read and written above): a caller answers from it.
    keep_related(invoice, "lines", lines)
    return invoice


def issue_lines(invoice: Invoice, acc: dict) -> list[Line]:
    """The issuing entry: AR (customer) debit total; revenue credit net; tax payable credit tax.
    `acc`: the system accounts by key (also the recurring run's bulk posting)."""
    revenue_key = "late_fee" if invoice.kind == "late_fee" else "revenue"
    lines = [Line(acc["ar"], invoice.total, invoice.customer)]
    net = invoice.total - invoice.tax_total
    if net:
        lines.append(Line(acc[revenue_key], -net, currency=invoice.currency))
    if invoice.tax_total:
        lines.append(Line(acc["tax"], -invoice.tax_total, currency=invoice.currency))
    return lines


def _post_issue(invoice: Invoice, actor, acc: dict):
    lines = issue_lines(invoice, acc)
    return ledger.post(invoice.organization, lines, effective_date=invoice.issue_date,
                       idempotency_key=f"invoice:{invoice.pk}:issue", memo=f"Invoice {invoice.number}",
                       actor=actor, source=invoice, source_label=invoice.number,
                       rates={invoice.currency: invoice.fx_rate})


def _document_rates(document) -> dict | None:
    """Post against a document at the rate it was booked at (its base value clears exactly); a
    document from before stored rates takes the rate of the day."""
    return {document.currency: document.fx_rate} if document.fx_rate is not None else None


def _snapshot(invoice: Invoice, lines, settings: InvoiceSettings) -> dict:
    org, customer = invoice.organization, invoice.customer
    return {
        "seller": {"name": org.name, "address": org.address, "tax_id": org.tax_id, "country": org.country,
                   "endpoint_scheme": org.endpoint_scheme, "endpoint_id": org.endpoint_id},
        "buyer": {"name": customer.name, "code": customer.code, "address": customer.billing_address,
                  "country": customer.country,
                  "tax_id": customer.tax_id, "emails": customer.email_list, "contact": customer.contact_person,
                  "endpoint_scheme": customer.endpoint_scheme, "endpoint_id": customer.endpoint_id},
        "payment": {"methods": settings.payment_methods, "bank_details": settings.bank_details},
        "lines": [{"description": li.description, "quantity": str(li.quantity), "unit": li.unit,
                   "unit_price": str(li.unit_price), "discount_percent": str(li.discount_percent),
                   "tax_percent": str(li.tax_percent), "gross": str(li.gross_amount), "net": str(li.net_amount),
                   "tax": str(li.tax_amount), **_line_category(li)} for li in lines],
    }


def _line_category(line: InvoiceLine) -> dict:
    """The line's VAT category and exemption reason as issued (e-invoices, invoicing.einvoice)."""
    rate = line.tax_rate if line.tax_rate_id else None
    return {"tax_category": tax_category(rate.category if rate else "", line.tax_percent),
            "exemption_reason": rate.exemption_reason if rate else ""}


@transaction.atomic
def void_invoice(invoice: Invoice, reason: str, actor=None, effective_date: date | None = None) -> Invoice:
    invoice = _locked(invoice)
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceError(_("Only an issued invoice can be voided."))
    if not invoice.can_void:
        raise InvoiceError(_("Payments, credits or write-offs are applied to this invoice; remove them before "
                             "voiding, or issue a credit note instead."))
    if not reason.strip():
        raise InvoiceError(_("Say why the invoice is voided."))
    invoice.void_entry = ledger.reverse(invoice.issue_entry, reason=reason, actor=actor,
                                        effective_date=effective_date,
                                        idempotency_key=f"invoice:{invoice.pk}:void")
    invoice.status = InvoiceStatus.VOID
    change_amounts(invoice, also=["void_entry", "status"])  # amount due: 0 once void
    record_event(invoice, "voided", _("Voided: %(reason)s") % {"reason": reason}, actor)
    hooks.emit(invoice.organization_id, "invoice.voided", {**hooks.invoice_data(invoice), "reason": reason})
    return invoice


# A short payment's difference may be booked as an early-payment discount or a bank fee when it is
# at most SHORT_PAYMENT_LIMIT and at most SHORT_PAYMENT_SHARE of what was due. Bank matching reads
# the same rule to flag a credit "short by a bank fee" (payments.matching).
SHORT_PAYMENT_LIMIT = Decimal("25")
SHORT_PAYMENT_SHARE = Decimal("0.02")
WRITE_OFF_KINDS = {
    "bad_debt": _lazy("bad debt"),
    "discount": _lazy("early-payment discount"),
    "bank_fee": _lazy("bank fee"),
}


def short_payment_tolerance(due: Decimal, currency: str) -> Decimal:
    """The largest difference between what was due and what was paid that counts as a discount or
    a bank fee (the smaller of SHORT_PAYMENT_LIMIT and SHORT_PAYMENT_SHARE of `due`)."""
    return min(SHORT_PAYMENT_LIMIT, round_money(due * SHORT_PAYMENT_SHARE, currency))


@transaction.atomic
def write_off(invoice: Invoice, amount: Decimal, reason: str, actor=None, effective_date: date | None = None,
              idempotency_key: str | None = None, kind: str = "bad_debt") -> WriteOff:
    """Write off part or all of an invoice's amount due: Dr the kind's account / Cr AR.

    kind "bad_debt" (Bad-debt expense): any amount up to what is due. kind "discount" (Discounts
    allowed) or "bank_fee" (Bank charges): a short payment's difference, so only the whole rest of
    an invoice something was paid on, and only within `short_payment_tolerance` of the total."""
    invoice = _locked(invoice)
    if idempotency_key:
        # A retried request (double submit): return what the first one did, post nothing.
        done = WriteOff.objects.filter(invoice=invoice, entry__organization_id=invoice.organization_id,
                                       entry__idempotency_key=idempotency_key).first()
        if done is not None:
            return done
    if kind not in WRITE_OFF_KINDS:
        raise InvoiceError(_("Unknown kind of write-off."))
    try:
        amount = check_exact(amount, invoice.currency)
    except MoneyError as e:
        raise InvoiceError(str(e)) from e
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceError(_("Only an issued invoice can be written off."))
    if amount <= 0 or amount > invoice.amount_due:
        raise InvoiceError(_("Write off between 0 and the amount due (%(due)s).") % {"due": invoice.amount_due})
    if not reason.strip():
        raise InvoiceError(_("A write-off needs a reason."))
    if kind != "bad_debt":
        _check_short_payment(invoice, amount, kind)
    account = write_off_account(invoice.organization, kind)
    key = idempotency_key or f"invoice:{invoice.pk}:writeoff:{invoice.write_offs.count() + 1}"
    label = _("Write-off") if kind == "bad_debt" else str(WRITE_OFF_KINDS[kind]).capitalize()
    entry = ledger.post(invoice.organization,
                        [Line(account, amount, currency=invoice.currency),
                         Line(system_account(invoice.organization, "ar"), -amount, invoice.customer)],
                        effective_date=effective_date or invoice.today, idempotency_key=key,
                        memo=f"{label} of {invoice.number}", actor=actor, source=invoice,
                        source_label=invoice.number, reason=reason, rates=_document_rates(invoice))
    existing = WriteOff.objects.filter(entry=entry).first()
    if existing:
        return existing
    wo = WriteOff.objects.create(organization=invoice.organization, invoice=invoice, amount=amount,
                                 reason=reason[:500], effective_date=entry.effective_date, entry=entry,
                                 created_by=actor)
    change_amounts(invoice, amount_written_off=amount)
    if kind == "bad_debt":
        message = _("Wrote off %(amount)s: %(reason)s") % {"amount": amount, "reason": reason}
    else:
        message = _("Booked the short payment's %(amount)s as %(kind)s: %(reason)s") % {
            "amount": amount, "kind": WRITE_OFF_KINDS[kind], "reason": reason}
    record_event(invoice, "written_off", message, actor)
    return wo


def _check_short_payment(invoice: Invoice, amount: Decimal, kind: str) -> None:
    cur = invoice.currency
    if not invoice.amount_paid:
        raise InvoiceError(_("Only the rest of an invoice that was paid short can be booked as %(kind)s; nothing "
                             "was paid on %(n)s.") % {"kind": WRITE_OFF_KINDS[kind], "n": invoice.number})
    if amount != invoice.amount_due:
        raise InvoiceError(_("Book the whole rest (%(due)s) as %(kind)s, or leave it open.")
                           % {"due": format_money(invoice.amount_due, cur), "kind": WRITE_OFF_KINDS[kind]})
    limit = short_payment_tolerance(invoice.total, cur)
    if amount > limit:
        raise InvoiceError(_("%(amount)s is too much to book as %(kind)s (at most %(limit)s on this invoice: "
                             "%(cap)s and %(share)s%% of the total). Leave it open or write it off as bad debt.")
                           % {"amount": format_money(amount, cur), "kind": WRITE_OFF_KINDS[kind],
                              "limit": format_money(limit, cur), "cap": format_money(SHORT_PAYMENT_LIMIT, cur),
                              "share": int(SHORT_PAYMENT_SHARE * 100)})


def write_off_kind(write_off_row: WriteOff) -> str:
    """Which kind a write-off was: read from the account its entry debits (the journal is the record)."""
    keys = {spec[0]: kind for kind, spec in WRITE_OFF_ACCOUNTS.items()}
    for key in JournalLine.objects.filter(entry_id=write_off_row.entry_id, amount__gt=0).values_list(
            "account__system_key", flat=True):
        if key in keys:
            return keys[key]
    return "bad_debt"


@transaction.atomic
def reverse_write_off(write_off_row: WriteOff, reason: str, actor=None, effective_date: date | None = None) -> WriteOff:
    """Undo a write-off (e.g. the bank match that booked it was undone): the mirror entry through
    `ledger.reverse` and a negative WriteOff row pointing at the one it reverses (rows are never
    changed), so the invoice is due that much again. Once only (a unique reversal per write-off)."""
    invoice = _locked(write_off_row.invoice)
    if not reason.strip():
        raise InvoiceError(_("Say why the write-off is undone."))
    if write_off_row.reverses_id or WriteOff.objects.filter(reverses=write_off_row).exists():
        raise InvoiceError(_("This write-off was already undone."))
    entry = ledger.reverse(write_off_row.entry, reason=reason, actor=actor,
                           effective_date=effective_date or invoice.today,
                           idempotency_key=f"writeoff:{write_off_row.pk}:reversal")
    back = WriteOff.objects.create(organization=invoice.organization, invoice=invoice, amount=-write_off_row.amount,
                                   reason=reason[:500], effective_date=entry.effective_date, entry=entry,
                                   created_by=actor, reverses=write_off_row)
    change_amounts(invoice, amount_written_off=-write_off_row.amount)
    record_event(invoice, "write_off_reversed", _("Write-off of %(amount)s undone: %(reason)s")
                 % {"amount": write_off_row.amount, "reason": reason}, actor)
    return back


@transaction.atomic
def set_dispute(invoice: Invoice, reason: str, actor=None, until: date | None = None,
                amount: Decimal | None = None) -> Invoice:
    """Put the invoice on hold as disputed: all of it, or only `amount` of it (a partial dispute:
    the rest is still chased). reminders.disputes keeps this in step with its Dispute rows."""
    invoice = _locked(invoice)
    if not reason.strip():
        raise InvoiceError(_("Say what the dispute is about."))
    if until and until < invoice.today:
        raise InvoiceError(_("The hold must end today or later."))
    if amount is not None and amount <= 0:
        raise InvoiceError(_("A disputed amount must be more than zero."))
    invoice.disputed_at, invoice.dispute_reason = timezone.now(), reason[:500]
    invoice.disputed_by, invoice.dispute_until, invoice.disputed_amount = actor, until, amount
    invoice.save(update_fields=["disputed_at", "dispute_reason", "disputed_by", "dispute_until", "disputed_amount"])
    _hold_changed(invoice)
    record_event(invoice, "disputed", (_("Disputed: %(reason)s") % {"reason": reason}) if amount is None else (
        _("Disputed (%(amount)s of it): %(reason)s") % {"amount": amount, "reason": reason}), actor)
    return invoice


def _hold_changed(invoice: Invoice) -> None:
    """The hold's history (DisputeHoldChange): what it says from now on."""
    DisputeHoldChange.objects.create(
        organization_id=invoice.organization_id, invoice=invoice, at=invoice.disputed_at or timezone.now(),
        held=invoice.disputed_at is not None, amount=invoice.disputed_amount, until=invoice.dispute_until)


@transaction.atomic
def clear_dispute(invoice: Invoice, actor=None) -> Invoice:
    invoice = _locked(invoice)
    invoice.disputed_at, invoice.dispute_reason, invoice.disputed_by, invoice.dispute_until = None, "", None, None
    invoice.disputed_amount = None
    invoice.save(update_fields=["disputed_at", "dispute_reason", "disputed_by", "dispute_until", "disputed_amount"])
    _hold_changed(invoice)
    record_event(invoice, "dispute_resolved", _("Dispute resolved"), actor)
    return invoice


@transaction.atomic
def duplicate_invoice(invoice: Invoice, actor=None) -> Invoice:
    today = invoice.today
    copy = Invoice.objects.create(
        organization=invoice.organization, customer=invoice.customer, currency=invoice.currency,
        issue_date=today, due_date=today + timezone.timedelta(days=invoice.customer.payment_terms_days),
        reference=invoice.reference, discount_percent=invoice.discount_percent, notes=invoice.notes,
        terms=invoice.terms, created_by=actor,
    )
    InvoiceLine.objects.bulk_create([
        InvoiceLine(organization=invoice.organization, invoice=copy, position=li.position,
                    description=li.description, quantity=li.quantity, unit=li.unit, unit_price=li.unit_price,
                    discount_percent=li.discount_percent, tax_rate=li.tax_rate, item_id=li.item_id)
        for li in invoice.lines.all()
    ])
    recompute_totals(copy)
    record_event(copy, "created", _("Duplicated from %(number)s") % {"number": invoice}, actor)
    return copy


def new_draft(org, customer, actor=None, **fields) -> Invoice:
    today = today_in(org)
    settings = InvoiceSettings.objects.get(organization=org)
    fields.setdefault("issue_date", today)
    fields.setdefault("due_date", fields["issue_date"] + timezone.timedelta(days=customer.payment_terms_days))
    fields.setdefault("terms", settings.default_terms)
    fields.setdefault("notes", settings.default_notes)
    return Invoice.objects.create(organization=org, customer=customer, currency=customer.currency,
                                  created_by=actor, **fields)


@transaction.atomic
def save_draft(org, invoice: Invoice | None, fields: dict, lines: list[dict], actor=None) -> Invoice:
    """Create a draft or replace an existing draft's fields and lines, then recompute its totals.

    fields: customer, issue_date, due_date, reference, discount_percent, notes, terms.
    lines: dicts of description, quantity, unit, unit_price, discount_percent, tax_rate and
    optionally item (the catalogue item the line was filled from; its text is the line's own copy).
    Refused (InvoiceError, nothing changed) once the invoice is no longer a draft.
    """
    if len(lines) > MAX_LINES:
        raise InvoiceError(_("An invoice can have at most %(n)s lines.") % {"n": MAX_LINES})
    customer = fields["customer"]
    if customer.organization_id != org.pk:
        raise InvoiceError(_("That customer belongs to another organization."))
    if any(line.get("item") is not None and line["item"].organization_id != org.pk for line in lines):
        raise InvoiceError(_("That item belongs to another organization."))
    if invoice is None:
        invoice = Invoice(organization=org, created_by=actor)
        created = True
    else:
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk, organization=org)
        if invoice.status != InvoiceStatus.DRAFT:
            raise InvoiceError(_("Invoice %(number)s is issued and can no longer be edited.")
                               % {"number": invoice.number})
        created = False
    for name, value in fields.items():
        setattr(invoice, name, value)
    invoice.currency = customer.currency
    objs = [InvoiceLine.from_entry(org, n, line, invoice=invoice) for n, line in enumerate(lines, start=1)]
    # The lines' amounts and the totals first, so the invoice row is written once, totals included,
    # and the lines in one insert.
    _apply_totals(invoice, objs, write_lines=False)
    invoice.save()
    if not created:
        invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(objs, batch_size=500)
    if created:
        record_event(invoice, "created", _("Draft created"), actor)
    # The lines as written: a caller answers from them without reading them back.
    keep_related(invoice, "lines", objs)
    return invoice


@transaction.atomic
def delete_draft(invoice: Invoice) -> None:
    """Delete a draft with its lines and timeline. Issued invoices are never deleted (void them)."""
    invoice = _locked(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceError(_("Only a draft can be deleted; void an issued invoice instead."))
    invoice.delete()
