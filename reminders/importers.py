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
        Field("lines", "Disputed lines", max_length=500,
              help="A dispute of some lines: their positions on the invoice (1 is the first line), separated by "
                   "; or , (“1; 3”). The amount is then what those lines come to (at most what the invoice "
                   "still owes); leave the amount empty. Empty: a dispute of the amount.",
              aliases=("line numbers", "disputed lines", "line positions")),
    )

    def begin(self, org, actor):
        existing = set()
        disputes = list(Dispute.objects.filter(organization=org).exclude(status=DisputeStatus.RESOLVED)
                        .values_list("invoice_id", "reason", "amount", "whole", "line_ids"))
        positions = _line_positions({line_id for *_rest, line_ids in disputes for line_id in line_ids})
        for invoice_id, reason, amount, whole, line_ids in disputes:
            if line_ids:  # by lines: its key is the lines' positions
                existing.add((invoice_id, reason, _lines_key(positions.get(i) for i in line_ids)))
                continue
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
        wanted = []
        if v.get("lines"):
            wanted, problem = _parse_positions(v["lines"])
            if problem:
                errors.append(row.error("lines", problem))
            elif amount is not None:
                errors.append(row.error("amount", "Give the disputed lines or an amount, not both: the lines' "
                                                  "dispute is what they come to."))
        if errors:
            return None, errors
        line_ids = []
        if wanted:
            by_position = _invoice_lines(pk)  # {position: (line id, what it comes to)}
            unknown = [p for p in wanted if p not in by_position]
            if unknown:
                return None, [row.error("lines", f"Invoice {number} has no line {unknown[0]} (it has "
                                                 f"{len(by_position)}).")]
            line_ids = [by_position[p][0] for p in wanted]
            lines_amount = min(sum(by_position[p][1] for p in wanted), due)
            key = f"{number}:{reason}:lines {_lines_key(wanted)}"
            if (pk, reason, _lines_key(wanted)) in state["existing"]:
                return Record(key=key, rows=[row.number], data=None, exists=True), []
        else:
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
        if line_ids and lines_amount <= 0:
            return None, [row.error("lines", "The chosen lines come to nothing that is still due.")]
        state["in_file"].add(key)
        data = {"invoice_id": pk, "reason": reason, "amount": amount, "message": (v.get("message") or "").strip(),
                "row": row.number, "line_ids": line_ids}
        shown = lines_amount if line_ids else (due if amount is None else amount)
        return Record(key=key, rows=[row.number], data=data, currency=currency, amount=shown), []

    def write(self, state, records, progress):
        from reminders.disputes import DisputeError, raise_dispute

        invoices = Invoice.objects.in_bulk([r.data["invoice_id"] for r in records])
        for record in records:
            d = record.data
            try:
                raise_dispute(invoices[d["invoice_id"]], reason=d["reason"], amount=d["amount"], message=d["message"],
                              line_ids=d.get("line_ids", ()), actor=state["actor"])
            except DisputeError as e:
                raise ValidationError(f"Row {d['row']}: {e}") from e
            progress(1)
        return {"disputes": len(records)}


def _parse_positions(text: str) -> tuple[list[int], str]:
    """"1; 3" -> [1, 3] (sorted, once each), or the problem."""
    parts = [p.strip() for p in text.replace(",", ";").split(";") if p.strip()]
    if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
        return [], "Lines are given by their positions on the invoice (1 is the first), separated by ; (“1; 3”)."
    return sorted({int(p) for p in parts}), ""


def _lines_key(positions) -> str:
    return "; ".join(str(p) for p in sorted(p for p in positions if p is not None))


def _invoice_lines(invoice_id) -> dict[int, tuple[int, object]]:
    """{position: (line id, what the line comes to, tax included: reminders.disputes.line_amounts)}."""
    from reminders.disputes import line_amounts

    invoice = Invoice.objects.get(pk=invoice_id)
    amounts = line_amounts(invoice)
    return {position: (pk, amounts[pk]) for pk, position in invoice.lines.values_list("pk", "position")}


def _line_positions(line_ids) -> dict[int, int]:
    from invoicing.models import InvoiceLine

    if not line_ids:
        return {}
    return dict(InvoiceLine.objects.filter(pk__in=line_ids).values_list("pk", "position"))


def _dispute_rows(org):
    """Unresolved disputes in the import's columns (resolved ones hold nothing and are left out). A
    dispute of the whole amount due leaves the amount empty, as the import reads it; one by lines
    gives the lines' positions on the invoice and no amount (the import disputes the same lines)."""
    yield [f.name for f in DisputeImporter.fields]
    disputes = list(Dispute.objects.filter(organization=org).exclude(status=DisputeStatus.RESOLVED)
                    .select_related("invoice").order_by("created_at", "pk"))
    positions = _line_positions({i for d in disputes for i in d.line_ids})
    for dispute in disputes:
        if dispute.line_ids:
            yield [dispute.invoice.number, dispute.reason, "", dispute.message,
                   _lines_key(positions.get(i) for i in dispute.line_ids)]
            continue
        amount = "" if dispute.whole else plain(dispute.amount)
        yield [dispute.invoice.number, dispute.reason, amount, dispute.message, ""]


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
