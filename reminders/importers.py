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

from datetime import date

from django.core.exceptions import ValidationError

from accounts.imports import Field, Importer, ImportOption, Record, register
from accounts.locale import plain
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


def _dispute_rows(org):
    """Unresolved disputes in the import's columns (resolved ones hold nothing and are left out). A
    dispute of the whole amount due leaves the amount empty, as the import reads it; one by lines
    comes out as the amount it holds."""
    yield [f.name for f in DisputeImporter.fields]
    disputes = (Dispute.objects.filter(organization=org).exclude(status=DisputeStatus.RESOLVED)
                .select_related("invoice").order_by("created_at", "pk"))
    for dispute in disputes:
        amount = "" if dispute.whole else plain(dispute.amount)
        yield [dispute.invoice.number, dispute.reason, amount, dispute.message]


DisputeImporter.export_rows = staticmethod(_dispute_rows)


# The option "hold reminders for imported invoices that are already overdue" (issue 14), offered
# on the invoices and opening-balances imports: reminders owns holds, so it registers the option
# with the framework in accounts (reminders/apps.py), and invoicing's importers know nothing of it.
def _hold_until(org, value) -> date:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("not a day (YYYY-MM-DD).") from None
    if day < org.today():
        raise ValueError(f"{day} has passed; choose today or a later day.")
    return day


def _hold_imported(org, actor, records, until: date) -> int:
    """Hold the reminders of the invoices just imported that were already overdue (due before the
    organization's today) and are open, until `until`."""
    from reminders.holds import hold_reminders

    numbers = [r.key for r in records]
    today = org.today()
    invoices = Invoice.objects.filter(organization=org, number__in=numbers, kind=InvoiceKind.INVOICE,
                                      status=InvoiceStatus.ISSUED, amount_due__gt=0, due_date__lt=today)
    return hold_reminders(list(invoices), until, "imported when already overdue", actor=actor)


HOLD_OPTION = ImportOption(
    name="hold_reminders_until", label="Hold reminders of overdue imported invoices until",
    help="Optional: invoices that are open and already overdue when imported get no reminder until this "
         "day (inclusive); then the schedule resumes and sends the latest step due once. Empty: they are "
         "reminded like any other from the next scan.",
    kinds=("invoices", "opening_balances"), check=_hold_until, apply=_hold_imported)
