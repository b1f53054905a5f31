"""Applying payments and credit notes to invoices, and un-applying them.

Rows only: each application is an Allocation row, each un-application a negative row that
points at it. The invoice's maintained amounts and the source's allocated amount change in
the same transaction, with the rows locked, so two concurrent applications can never
over-pay an invoice or over-spend a payment (and the CHECK constraints would refuse it).

Lock order, everywhere in payments: the invoices (by primary key), then the payment or credit
note, then (when posting) the organization's ledger head. Invoicing locks an invoice before
the ledger head too, so no two transactions wait on each other in a circle.
"""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.ledger import LedgerError
from accounts.models_org import today_in
from accounts.money import MoneyError, check_exact, format_money
from accounts.period import check_open
from invoicing.amounts import change_amounts, change_invoice_amounts
from invoicing.models import CreditNote, Invoice, InvoiceStatus
from invoicing.services import record_event
from payments.models import Allocation, Payment


class AllocationError(LedgerError):
    """A refused allocation; nothing was changed."""


def _lock_pair(invoice: Invoice, source):
    """Lock invoice and source in a fixed order (invoice first) to avoid deadlocks."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    source = type(source).objects.select_for_update().get(pk=source.pk)
    return invoice, source


def lock_invoices(org_id: int, ids) -> dict[int, Invoice]:
    """Lock the invoices in primary-key order (one statement) and return them by id."""
    rows = Invoice.objects.select_for_update().filter(organization_id=org_id, pk__in=list(ids)).order_by("pk")
    return {invoice.pk: invoice for invoice in rows}


def source_unapplied(source) -> Decimal:
    return source.unapplied


def describe_source(source) -> str:
    if isinstance(source, Payment):
        return _("payment %(ref)s") % {"ref": source.reference or f"#{source.pk}"}
    return _("credit note %(n)s") % {"n": source.number}


def allocations_of_invoice(invoice: Invoice) -> list[Allocation]:
    """The rows applying money to an invoice, oldest first (invoicing.hooks.ALLOCATIONS.of_invoice)."""
    return list(Allocation.objects.filter(invoice=invoice).select_related("payment", "credit_note")
                .order_by("created_at", "pk"))


def allocations_of_credit_note(note: CreditNote) -> list[Allocation]:
    """The rows applying a credit note, oldest first (invoicing.hooks.ALLOCATIONS.of_credit_note)."""
    return list(Allocation.objects.filter(credit_note=note).select_related("invoice").order_by("created_at", "pk"))


def apply(invoice: Invoice, source: Payment | CreditNote, amount: Decimal, actor=None,
          effective_date: date | None = None) -> Allocation:
    """Apply `amount` of `source` to one invoice."""
    if not isinstance(amount, Decimal):
        raise AllocationError(_("Amounts must be Decimal."))
    if amount <= 0:
        raise AllocationError(_("Apply an amount greater than zero."))
    return apply_many(source, {invoice.pk: amount}, actor=actor, effective_date=effective_date)[0]


@transaction.atomic
def apply_many(source: Payment | CreditNote, amounts: Mapping[int, Decimal], actor=None,
               effective_date: date | None = None, at: datetime | None = None,
               locked: dict[int, Invoice] | None = None) -> list[Allocation]:
    """Apply `source` to several invoices at once ({invoice id: amount}), all or nothing.

    Zero amounts are skipped. Refused (AllocationError, nothing changed): a negative amount or one
    with more decimals than the currency has, an invoice that is not the same customer's open
    invoice, more than an invoice's amount due, more in total than the source has unapplied,
    a reversed payment.

    `locked`: only for a caller that has, in this same transaction, locked these invoices (fresh
    rows, by id) and created or locked `source` itself; then neither is read again.
    """
    wanted: dict[int, Decimal] = {}
    for invoice_id, amount in amounts.items():
        if amount is None or amount == 0:
            continue
        if amount < 0:
            raise AllocationError(_("Apply an amount greater than zero."))
        wanted[int(invoice_id)] = amount
    if not wanted:
        return []
    if locked is not None and set(wanted) <= set(locked):
        invoices = locked
    else:
        invoices = lock_invoices(source.organization_id, wanted)
        source = type(source).objects.select_for_update().get(pk=source.pk)
    if isinstance(source, Payment) and source.reversed_at:
        raise AllocationError(_("This payment was reversed; it has nothing to apply."))
    total = Decimal(0)
    for invoice_id, amount in wanted.items():
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice.customer_id != source.customer_id:
            raise AllocationError(_("Money can only be applied to the same customer's invoices "
                                    "(invoice #%(id)s is not one of them).") % {"id": invoice_id})
        if invoice.currency != source.currency:
            raise AllocationError(_("The currencies differ."))
        try:
            check_exact(amount, invoice.currency)
        except MoneyError as e:
            raise AllocationError(str(e)) from e
        if invoice.status != InvoiceStatus.ISSUED:
            raise AllocationError(_("Invoice %(n)s is not open.") % {"n": invoice})
        if amount > invoice.amount_due:
            raise AllocationError(_("%(amount)s is more than %(n)s's amount due (%(due)s).")
                                  % {"amount": amount, "n": invoice, "due": invoice.amount_due})
        total += amount
    if total > source_unapplied(source):
        raise AllocationError(_("%(amount)s is more than the %(unapplied)s still unapplied.")
                              % {"amount": total, "unapplied": source_unapplied(source)})
    is_payment = isinstance(source, Payment)
    when = effective_date or today_in()
    check_open(source.organization_id, when, AllocationError)  # the period lock: nothing allocated in a closed period
    rows = Allocation.objects.bulk_create([
        Allocation(organization_id=source.organization_id, invoice_id=invoice_id, amount=amount,
                   payment=source if is_payment else None, credit_note=None if is_payment else source,
                   effective_date=when, created_by=actor)
        for invoice_id, amount in wanted.items()
    ])
    field = "amount_paid" if is_payment else "amount_credited"
    change_invoice_amounts((invoices[invoice_id], {field: amount}) for invoice_id, amount in wanted.items())
    change_amounts(source, **{_source_field(source): total})
    what = describe_source(source)
    for invoice_id, amount in wanted.items():
        record_event(invoices[invoice_id], "payment_applied" if is_payment else "credit_applied",
                     _("%(amount)s applied from %(what)s") % {"amount": format_money(amount, source.currency),
                                                              "what": what}, actor, at=at)
    return rows


@transaction.atomic
def unapply(allocation: Allocation, reason: str, actor=None, *, kind: str = "allocation_removed",
            message: str | None = None, effective_date: date | None = None, at: datetime | None = None) -> Allocation:
    """Undo one application by adding its negative; the original row stays."""
    if allocation.amount < 0:
        raise AllocationError(_("This row already undoes another."))
    if not reason.strip():
        raise AllocationError(_("Say why the application is undone."))
    source = allocation.payment or allocation.credit_note
    check_open(allocation.organization_id, effective_date or today_in(), AllocationError)
    invoice, source = _lock_pair(allocation.invoice, source)
    # Checked under the locks: a concurrent un-apply of the same row queues behind this one.
    if Allocation.objects.filter(reverses=allocation).exists():
        raise AllocationError(_("This application was already undone."))
    undo = Allocation.objects.create(
        organization_id=allocation.organization_id, invoice=invoice, payment=allocation.payment,
        credit_note=allocation.credit_note, amount=-allocation.amount, reverses=allocation,
        reason=reason.strip()[:500], effective_date=effective_date or today_in(), created_by=actor,
    )
    _move(invoice, source, -allocation.amount)
    record_event(invoice, kind, message or _("%(amount)s un-applied from %(what)s: %(reason)s")
                 % {"amount": format_money(allocation.amount, invoice.currency), "what": describe_source(source),
                    "reason": reason.strip()}, actor, at=at)
    return undo


def _source_field(source) -> str:
    return "amount_allocated" if isinstance(source, Payment) else "amount_applied"


def _move(invoice: Invoice, source, amount: Decimal) -> None:
    change_amounts(source, **{_source_field(source): amount})
    change_amounts(invoice, **{"amount_paid" if isinstance(source, Payment) else "amount_credited": amount})
