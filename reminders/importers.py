"""The disputes import: invoices flagged as disputed in the source.

Registered from reminders (the app that owns disputes) with the framework in accounts, so the
arrow stays accounts <- invoicing <- reminders. One row per dispute: the invoice's number, the
reason (one of the dispute screen's reasons, by its code or its words; empty: "Something else"),
the disputed amount (empty: all the invoice still owes) and a message. Each goes through the
dispute screen's door, `reminders.disputes.raise_dispute` (its checks, the Dispute row, the
invoice's hold through `sync_hold`, so reminders skip the disputed amount from then on).

Re-import key: the invoice, the reason and the amount. An unresolved dispute of that invoice with
the same reason and amount (or of the whole amount, for an empty amount) is "already imported".
"""

from django.core.exceptions import ValidationError

from accounts.imports import Field, Importer, Record, register
from accounts.money import MoneyError, check_exact
from invoicing.importers_lookup import INVOICE_NUMBER, find_invoice, numbered_invoices
from invoicing.models import Invoice, InvoiceKind, InvoiceStatus
from reminders.models_collections import Dispute, DisputeReason, DisputeStatus

REASONS = {**{r.value: r.value for r in DisputeReason}, **{str(r.label).lower(): r.value for r in DisputeReason},
           "wrong amount": DisputeReason.WRONG_AMOUNT, "wrong price": DisputeReason.WRONG_AMOUNT,
           "not received": DisputeReason.NOT_RECEIVED, "damaged": DisputeReason.QUALITY,
           "quality": DisputeReason.QUALITY, "paid": DisputeReason.ALREADY_PAID,
           "already paid": DisputeReason.ALREADY_PAID, "duplicate": DisputeReason.DUPLICATE,
           "billed twice": DisputeReason.DUPLICATE, "other": DisputeReason.OTHER, "": DisputeReason.OTHER}


@register
class DisputeImporter(Importer):
    kind = "disputes"
    label = "Disputes"
    fields = (
        INVOICE_NUMBER,
        Field("reason", "Reason", max_length=100,
              help="Wrong amount, not received, quality, already paid, duplicate or other; empty: other.",
              aliases=("dispute reason",)),
        Field("amount", "Disputed amount", "number", help="Empty: everything the invoice still owes.",
              aliases=("disputed amount",)),
        Field("message", "Message", max_length=2000, aliases=("note", "notes", "comment", "details")),
    )

    def begin(self, org, actor):
        existing = set()
        for invoice_id, reason, amount, whole in (Dispute.objects.filter(organization=org)
                                                  .exclude(status=DisputeStatus.RESOLVED)
                                                  .values_list("invoice_id", "reason", "amount", "whole")):
            existing.add((invoice_id, reason, amount))
            if whole:
                existing.add((invoice_id, reason, None))
        return {"org": org, "actor": actor, "invoices": numbered_invoices(org), "existing": existing,
                "in_file": set()}

    def check(self, state, rows):
        row = rows[0]
        found, errors = find_invoice(state["invoices"], row)
        if found is None:
            return None, errors
        v, number = row.values, row.values["invoice_number"].strip()
        pk, status, kind, due, currency = found.pk, found.status, found.kind, found.due, found.currency
        reason = REASONS.get((v.get("reason") or "").strip().lower())
        if reason is None:
            errors.append(row.error("reason", "Unknown reason; use wrong amount, not received, quality, already "
                                              "paid, duplicate or other."))
        amount = None
        if v.get("amount") is not None:
            try:
                amount = check_exact(v["amount"], currency)
            except MoneyError as e:
                errors.append(row.error("amount", str(e)))
        if errors:
            return None, errors
        key = f"{number}:{reason}:{'' if amount is None else amount}"
        if (pk, reason, amount) in state["existing"]:
            return Record(key=key, rows=[row.number], data=None, exists=True), []
        if key in state["in_file"]:
            return None, [row.error("invoice_number", f"The same dispute of invoice {number} is on a row above.")]
        if kind != InvoiceKind.INVOICE or status != InvoiceStatus.ISSUED or due <= 0:
            return None, [row.error("invoice_number", f"Invoice {number} is not open (it owes nothing, or is a "
                                                      f"draft or void); only an open invoice can be disputed.")]
        if amount is not None and (amount <= 0 or amount > due):
            return None, [row.error("amount", f"Dispute more than 0 and at most the {due} invoice {number} still "
                                              f"owes.")]
        state["in_file"].add(key)
        data = {"invoice_id": pk, "reason": reason, "amount": amount, "message": (v.get("message") or "").strip(),
                "row": row.number}
        return Record(key=key, rows=[row.number], data=data, currency=currency,
                      amount=due if amount is None else amount), []

    def write(self, state, records, progress):
        from reminders.disputes import DisputeError, raise_dispute

        invoices = Invoice.objects.in_bulk([r.data["invoice_id"] for r in records])
        for record in records:
            d = record.data
            try:
                raise_dispute(invoices[d["invoice_id"]], reason=d["reason"], amount=d["amount"], message=d["message"],
                              actor=state["actor"])
            except DisputeError as e:
                raise ValidationError(f"Row {d['row']}: {e}") from e
            progress(1)
        return {"disputes": len(records)}
