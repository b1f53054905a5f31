"""Applying payments and credit notes to invoices, and un-applying them.

Rows only: each application is an Allocation row, each un-application a negative row that
points at it. The invoice's maintained amounts and the source's allocated amount change in
the same transaction, with both rows locked, so two concurrent applications can never
over-pay an invoice or over-spend a payment (and the CHECK constraints would refuse it).
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.ledger import LedgerError
from accounts.money import MoneyError, check_exact
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


def source_unapplied(source) -> Decimal:
    return source.unapplied


@transaction.atomic
def apply(invoice: Invoice, source: Payment | CreditNote, amount: Decimal, actor=None,
          effective_date: date | None = None) -> Allocation:
    invoice, source = _lock_pair(invoice, source)
    try:
        amount = check_exact(amount, invoice.currency)
    except MoneyError as e:
        raise AllocationError(str(e)) from e
    if amount <= 0:
        raise AllocationError(_("Apply an amount greater than zero."))
    if invoice.organization_id != source.organization_id or invoice.customer_id != source.customer_id:
        raise AllocationError(_("Money can only be applied to the same customer's invoices."))
    if invoice.currency != source.currency:
        raise AllocationError(_("The currencies differ."))
    if invoice.status != InvoiceStatus.ISSUED:
        raise AllocationError(_("Invoice %(n)s is not open.") % {"n": invoice})
    if isinstance(source, Payment) and source.reversed_at:
        raise AllocationError(_("This payment was reversed."))
    if amount > invoice.amount_due:
        raise AllocationError(_("%(amount)s is more than %(n)s's amount due (%(due)s).")
                              % {"amount": amount, "n": invoice, "due": invoice.amount_due})
    if amount > source_unapplied(source):
        raise AllocationError(_("%(amount)s is more than the %(unapplied)s still unapplied.")
                              % {"amount": amount, "unapplied": source_unapplied(source)})
    allocation = Allocation.objects.create(
        organization_id=invoice.organization_id, invoice=invoice, amount=amount,
        payment=source if isinstance(source, Payment) else None,
        credit_note=source if isinstance(source, CreditNote) else None,
        effective_date=effective_date or timezone.localdate(), created_by=actor,
    )
    _move(invoice, source, amount)
    what = _("payment %(ref)s") % {"ref": source.reference or f"#{source.pk}"} if isinstance(source, Payment) \
        else _("credit note %(n)s") % {"n": source.number}
    record_event(invoice, "payment_applied" if isinstance(source, Payment) else "credit_applied",
                 _("%(amount)s %(cur)s applied from %(what)s") % {"amount": amount, "cur": invoice.currency,
                                                                   "what": what}, actor)
    return allocation


@transaction.atomic
def unapply(allocation: Allocation, reason: str, actor=None) -> Allocation:
    """Undo one application by adding its negative; the original row stays."""
    if allocation.amount < 0:
        raise AllocationError(_("This row already undoes another."))
    if Allocation.objects.filter(reverses=allocation).exists():
        raise AllocationError(_("This application was already undone."))
    source = allocation.payment or allocation.credit_note
    invoice, source = _lock_pair(allocation.invoice, source)
    undo = Allocation.objects.create(
        organization_id=allocation.organization_id, invoice=invoice, payment=allocation.payment,
        credit_note=allocation.credit_note, amount=-allocation.amount, reverses=allocation,
        reason=reason[:500], effective_date=timezone.localdate(), created_by=actor,
    )
    _move(invoice, source, -allocation.amount)
    record_event(invoice, "allocation_removed", _("%(amount)s %(cur)s un-applied: %(reason)s")
                 % {"amount": allocation.amount, "cur": invoice.currency, "reason": reason}, actor)
    return undo


def _move(invoice: Invoice, source, amount: Decimal) -> None:
    if isinstance(source, Payment):
        invoice.amount_paid += amount
        source.amount_allocated += amount
        source.save(update_fields=["amount_allocated"])
    else:
        invoice.amount_credited += amount
        source.amount_applied += amount
        source.save(update_fields=["amount_applied"])
    invoice.amount_due -= amount
    invoice.save(update_fields=["amount_paid", "amount_credited", "amount_due"])
