"""The one writer of the amounts kept on documents.

An invoice keeps what was paid, credited and written off on it, and its amount due; a payment
what of it is allocated and refunded; a credit note what of it is applied. Those columns change
only here: `change_amounts` (one document) and `change_invoice_amounts` (several invoices at
once), called by payments and credit applications (payments.allocation), un-applications and
payment reversals, write-offs, refunds, voiding and issuing (late fees too, which are issued
invoices; issuing's one statement sets the first amount due with `ISSUE_SET_SQL`). The caller
holds the documents' row locks and writes the rows behind the amounts
(allocations, write-offs, refunds) in the same transaction.

An invoice's amount due is never written on its own: it is `amount_due_of(invoice)`, total −
paid − credited − written off, 0 once void; the CHECK `invoice_amount_due_consistent` repeats
the rule in the database.
"""

from collections.abc import Iterable
from decimal import Decimal

from django.db import connection

from invoicing import hooks
from invoicing.models import Invoice, InvoiceStatus

ZERO = Decimal(0)
INVOICE_AMOUNTS = ("amount_paid", "amount_credited", "amount_written_off")
# Which maintained amounts each kind of document has (by model label: payments is not imported).
MAINTAINED = {
    "invoicing.Invoice": INVOICE_AMOUNTS,
    "invoicing.CreditNote": ("amount_applied",),
    "payments.Payment": ("amount_allocated", "amount_refunded"),
}


def amount_due_of(invoice: Invoice) -> Decimal:
    if invoice.status == InvoiceStatus.VOID:
        return ZERO
    applied = (invoice.amount_paid, invoice.amount_credited, invoice.amount_written_off)
    if not any(applied):
        return invoice.total  # as issued (its Decimal as totals rounded it, not widened by 0.000)
    return invoice.total - sum(applied, ZERO)


# Issuing writes an invoice's frozen fields in one statement (invoicing.issuing.store_issued); its
# first amount due is set there, by this fragment and these parameters: nothing is applied yet.
ISSUE_SET_SQL = "amount_due = %(amount_due)s"


def issue_params(invoice: Invoice) -> dict:
    """The parameters of `ISSUE_SET_SQL` for an invoice being issued."""
    return {"amount_due": amount_due_of(invoice)}


def _add(document, deltas: dict) -> list[str]:
    allowed = MAINTAINED.get(document._meta.label, ())
    for field, delta in deltas.items():
        if field not in allowed:
            raise ValueError(f"{field} is not a maintained amount of {document._meta.label}")
        setattr(document, field, getattr(document, field) + delta)
    fields = list(deltas)
    if isinstance(document, Invoice):
        before, document.amount_due = document.amount_due, amount_due_of(document)
        fields.append("amount_due")
        if before > 0 and document.amount_due == 0 and document.status == InvoiceStatus.ISSUED:
            # Paid in full (by payments, credits or a write-off): in the caller's transaction.
            hooks.emit(document.organization_id, "invoice.paid", hooks.invoice_data(document))
    return fields


def change_amounts(document, *, also: Iterable[str] = (), **deltas: Decimal) -> None:
    """Add the signed `deltas` (field=amount) to one document's maintained amounts and save them,
    with the other fields named in `also` (e.g. an invoice's status when it is voided)."""
    document.save(update_fields=[*_add(document, deltas), *also])


def change_invoice_amounts(changes: Iterable[tuple[Invoice, dict]]) -> None:
    """`change_amounts` for several invoices in one statement: (invoice, {field: delta}) pairs."""
    invoices = []
    for invoice, deltas in changes:
        _add(invoice, deltas)
        invoices.append(invoice)
    if not invoices:
        return
    # One UPDATE joined to the new values (not bulk_update's CASE per column, whose every row walks
    # the list of ids: quadratic, 3 s of a 2,000-payment import). The row triggers fire the same.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_invoice i SET amount_paid = v.paid, amount_credited = v.credited,"
            " amount_written_off = v.written_off, amount_due = v.due"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[])"
            " AS v(organization_id, id, paid, credited, written_off, due)"
            " WHERE i.organization_id = v.organization_id AND i.id = v.id",
            [[i.organization_id for i in invoices], [i.pk for i in invoices],
             [i.amount_paid for i in invoices], [i.amount_credited for i in invoices],
             [i.amount_written_off for i in invoices], [i.amount_due for i in invoices]])
