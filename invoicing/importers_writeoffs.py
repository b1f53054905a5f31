"""The write-offs import: amounts of invoices the old books gave up on.

One row per write-off: the invoice's number (imported before, or issued here), the date, the
amount (empty: all the invoice still owes at that row) and the reason. Each goes through the
write-off screen's own door, `invoicing.services.write_off` (its checks, its posting Dr bad debt /
Cr AR dated the row's date, the invoice's amounts through invoicing.amounts, the timeline event),
with the idempotency key `import:writeoff:<invoice number>:<YYYYMMDD>:<n>` (n: the how-manieth
write-off of that invoice and day in the file), so importing the file again writes nothing.

The dry run follows each invoice's amount due through the rows above, so writing off more than
is owed, an invoice of another organization, a draft or a void one is reported on its row.
"""

from django.core.exceptions import ValidationError

from accounts.imports import Field, Importer, Record, register
from accounts.imports.base import OpenPeriod
from accounts.money import MoneyError, check_exact
from invoicing.importers_lookup import INVOICE_NUMBER, find_invoice, numbered_invoices
from invoicing.models import Invoice, InvoiceStatus, WriteOff

KEY_PREFIX = "import:writeoff:"
DEFAULT_REASON = "Imported write-off"


@register
class WriteOffImporter(Importer):
    kind = "write_offs"
    label = "Write-offs"
    fields = (
        INVOICE_NUMBER,
        Field("date", "Date", "date", required=True, aliases=("written off", "write-off date", "effective date")),
        Field("amount", "Amount", "number", help="Empty: everything the invoice still owes.",
              aliases=("written off amount", "write-off amount")),
        Field("reason", "Reason", max_length=500, help=f"Empty: “{DEFAULT_REASON}”.", aliases=("note", "memo")),
    )

    def begin(self, org, actor):
        today = org.today()
        return {"org": org, "actor": actor, "today": today, "period": OpenPeriod(org, today),
                "invoices": numbered_invoices(org),
                "keys": dict(WriteOff.objects.filter(organization=org, entry__idempotency_key__startswith=KEY_PREFIX)
                             .values_list("entry__idempotency_key", "amount")),
                "occurrences": {}}

    def check(self, state, rows):
        row = rows[0]
        found, errors = find_invoice(state["invoices"], row)
        if found is None:
            return None, errors
        v, number = row.values, row.values["invoice_number"].strip()
        pk, status, due, issued, currency = found.pk, found.status, found.due, found.issue_date, found.currency
        day = v["date"]
        if day > state["today"]:
            errors.append(row.error("date", "The date is in the future."))
        elif day < issued:
            errors.append(row.error("date", f"The date is before the invoice's issue date ({issued})."))
        elif too_old := state["period"].too_old(day):
            errors.append(row.error("date", too_old))
        elif closed := state["period"].refuse(day):
            errors.append(row.error("date", closed))
        occurrence = (number, day)
        n = state["occurrences"][occurrence] = state["occurrences"].get(occurrence, 0) + 1
        key = f"{KEY_PREFIX}{number}:{day:%Y%m%d}:{n}"
        amount = None
        if v.get("amount") is not None:
            try:
                amount = check_exact(v["amount"], currency)
            except MoneyError as e:
                errors.append(row.error("amount", str(e)))
        if key in state["keys"] and not errors:
            if amount is None or amount == state["keys"][key]:
                return Record(key=key, rows=[row.number], data=None, exists=True), []
            return None, [row.error("amount", f"This write-off was imported before with {state['keys'][key]}; "
                                              f"reverse it on the invoice first.")]
        if status != InvoiceStatus.ISSUED:
            errors.append(row.error("invoice_number", f"Invoice {number} is {status}; only an issued invoice can be "
                                                      f"written off."))
        elif amount is None and due <= 0:
            errors.append(row.error("invoice_number", f"Invoice {number} owes nothing; there is nothing to write "
                                                      f"off."))
        elif amount is not None and (amount <= 0 or amount > due):
            errors.append(row.error("amount", f"Write off more than 0 and at most the {due} invoice {number} still "
                                              f"owes."))
        if errors:
            return None, errors
        amount = due if amount is None else amount
        found.due = due - amount
        reason = (v.get("reason") or "").strip() or DEFAULT_REASON
        data = {"invoice_id": pk, "amount": amount, "day": day, "reason": reason, "key": key, "row": row.number}
        return Record(key=key, rows=[row.number], data=data, currency=currency, amount=amount, day=day), []

    def write(self, state, records, progress):
        from invoicing.services import InvoiceError, write_off

        invoices = Invoice.objects.in_bulk([r.data["invoice_id"] for r in records])
        for record in records:
            d = record.data
            try:
                write_off(invoices[d["invoice_id"]], d["amount"], d["reason"], actor=state["actor"],
                          effective_date=d["day"], idempotency_key=d["key"])
            except InvoiceError as e:
                raise ValidationError(f"Row {d['row']}: " + " ".join(e.messages)) from e
            progress(1)
        return {"write_offs": len(records)}

    @staticmethod
    def export_rows(org):
        yield [f.name for f in WriteOffImporter.fields]
        from invoicing.importers import plain

        for number, day, amount, reason in (WriteOff.objects.filter(organization=org)
                                            .order_by("effective_date", "pk")
                                            .values_list("invoice__number", "effective_date", "amount", "reason")):
            yield [number, day.isoformat(), plain(amount), reason]

