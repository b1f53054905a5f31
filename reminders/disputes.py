"""Disputes (issue 19): raised by staff or by the customer on their link, never overwritten.

Each dispute is its own row (reminders.models_collections.Dispute). The invoice's hold columns,
read by invoicing's one rule for "disputed" (`Invoice.is_disputed_on`, `invoice_sql.is_disputed`),
are derived from the open disputes here and only here (`sync_hold`): no open dispute -> no hold; an
open dispute of the whole amount -> hold on all of it; otherwise the sum of the disputed parts, so
reminders go on for the undisputed rest.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from invoicing import hooks
from invoicing.models import Invoice, InvoiceKind
from invoicing.services import clear_dispute, record_event, set_dispute
from reminders.models_collections import (
    Dispute,
    DisputeMessage,
    DisputeOutcome,
    DisputeReason,
    DisputeStatus,
    Source,
)

ZERO = Decimal(0)


class DisputeError(ValueError):
    pass


def line_amounts(invoice: Invoice) -> dict[int, Decimal]:
    """What each line of the invoice comes to, tax included (what a customer disputes by line)."""
    return {line.pk: line.net_amount + line.tax_amount for line in invoice.lines.all()}


def sync_hold(invoice: Invoice, actor=None) -> None:
    """Make the invoice's hold say what its open disputes say (the one writer of the hold here)."""
    open_disputes = list(Dispute.objects.filter(invoice=invoice).exclude(status=DisputeStatus.RESOLVED)
                         .order_by("created_at"))
    if not open_disputes:
        if invoice.disputed_at is not None:
            clear_dispute(invoice, actor=actor)
        return
    part = sum((d.amount for d in open_disputes), ZERO)
    amount = None if any(d.whole for d in open_disputes) or part >= invoice.amount_due else part
    reason = "; ".join(dict.fromkeys(d.get_reason_display() for d in open_disputes))
    if invoice.disputed_at is None or invoice.disputed_amount != amount or invoice.dispute_reason != reason[:500]:
        set_dispute(invoice, reason, actor=actor, until=None, amount=amount)


@transaction.atomic
def raise_dispute(invoice: Invoice, *, reason: str, amount: Decimal | None = None, line_ids=(),
                  message: str = "", source: str = Source.STAFF, actor=None, ip=None, assignee=None) -> Dispute:
    """A new dispute of `amount`, or of the given lines, or (neither) of the whole amount due."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.kind != InvoiceKind.INVOICE or not invoice.is_open:
        raise DisputeError(_("Only an open invoice can be disputed."))
    if reason not in DisputeReason.values:
        raise DisputeError(_("Choose a reason from the list."))
    line_ids = sorted(set(int(i) for i in line_ids))
    if line_ids:
        lines = line_amounts(invoice)
        if not set(line_ids) <= set(lines):
            raise DisputeError(_("Choose lines of this invoice."))
        amount = min(sum((lines[i] for i in line_ids), ZERO), invoice.amount_due)
        if amount <= 0:
            raise DisputeError(_("The chosen lines come to nothing that is still due."))
    elif amount is not None:
        if amount <= 0:
            raise DisputeError(_("The disputed amount must be more than zero."))
        if amount > invoice.amount_due:
            raise DisputeError(_("The disputed amount is more than the %(due)s still due.")
                               % {"due": invoice.amount_due})
    else:
        amount = invoice.amount_due
    dispute = Dispute.objects.create(
        organization_id=invoice.organization_id, invoice=invoice, customer_id=invoice.customer_id, reason=reason,
        amount=amount, line_ids=line_ids, whole=amount >= invoice.amount_due, message=message.strip(),
        source=source, ip=ip, created_by=actor, assignee=assignee)
    if dispute.message:
        DisputeMessage.objects.create(organization_id=invoice.organization_id, dispute=dispute,
                                      from_customer=source == Source.PORTAL, author=actor, body=dispute.message, ip=ip)
    sync_hold(invoice, actor=actor)
    hooks.emit(invoice.organization_id, "dispute.opened", dispute_data(dispute))
    return dispute


def dispute_data(dispute: Dispute) -> dict:
    """A dispute as webhooks carry it (docs/api.md)."""
    return {"id": dispute.pk, "invoice": {"id": dispute.invoice_id}, "customer": {"id": dispute.customer_id},
            "reason": dispute.reason, "amount": hooks.money(dispute.amount, dispute.invoice.currency),
            "currency": dispute.invoice.currency, "whole": dispute.whole, "source": dispute.source,
            "status": dispute.status, "outcome": dispute.outcome or None}


@transaction.atomic
def resolve(dispute: Dispute, *, outcome: str, note: str, actor) -> Dispute:
    """Close a dispute with its outcome; a note saying why is required. The row stays (history)."""
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.status == DisputeStatus.RESOLVED:
        raise DisputeError(_("This dispute is already resolved."))
    if outcome not in DisputeOutcome.values:
        raise DisputeError(_("Choose an outcome."))
    if not note.strip():
        raise DisputeError(_("Resolving a dispute needs a note saying what was decided."))
    dispute.status, dispute.outcome, dispute.resolution_note = DisputeStatus.RESOLVED, outcome, note.strip()[:2000]
    dispute.resolved_at, dispute.resolved_by = timezone.now(), actor
    dispute.save(update_fields=["status", "outcome", "resolution_note", "resolved_at", "resolved_by"])
    invoice = Invoice.objects.select_for_update().get(pk=dispute.invoice_id)
    record_event(invoice, "dispute_resolved", _("Dispute resolved (%(outcome)s): %(note)s")
                 % {"outcome": dispute.get_outcome_display(), "note": dispute.resolution_note}, actor)
    sync_hold(invoice, actor=actor)
    hooks.emit(invoice.organization_id, "dispute.resolved", {**dispute_data(dispute), "note": dispute.resolution_note})
    return dispute


@transaction.atomic
def add_message(dispute: Dispute, body: str, *, from_customer: bool, actor=None, ip=None) -> DisputeMessage:
    body = body.strip()
    if not body:
        raise DisputeError(_("Write a message."))
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    msg = DisputeMessage.objects.create(organization_id=dispute.organization_id, dispute=dispute,
                                        from_customer=from_customer, author=actor, body=body[:2000], ip=ip)
    if not from_customer and dispute.status == DisputeStatus.OPEN:
        Dispute.objects.filter(pk=dispute.pk).update(status=DisputeStatus.WAITING)
    elif from_customer and dispute.status == DisputeStatus.WAITING:
        Dispute.objects.filter(pk=dispute.pk).update(status=DisputeStatus.OPEN)
    return msg
