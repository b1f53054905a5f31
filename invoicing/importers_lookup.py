"""The invoice a row of an import names by its number: one home for the imports that act on
invoices already in the books (write-offs here, disputes in reminders.importers).

    INVOICE_NUMBER                      the column, with the headings it is recognized by
    numbered_invoices(org)              every numbered invoice of the organization, read once in begin()
    find_invoice(invoices, row)         (the invoice, []) or (None, [the row's error])

`NumberedInvoice.due` is the amount due as the books have it, rounded to the currency; an import
that uses the amount up row by row (the write-offs') lowers it as it goes.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accounts.imports import Field
from accounts.money import round_money
from invoicing.models import Invoice

INVOICE_NUMBER = Field("invoice_number", "Invoice number", "code", required=True, max_length=40,
                       aliases=("invoice", "invoice number", "invoice no", "number"))


@dataclass(slots=True)
class NumberedInvoice:
    pk: int
    status: str
    kind: str
    due: Decimal
    issue_date: date
    currency: str


def numbered_invoices(org) -> dict[str, NumberedInvoice]:
    rows = (Invoice.objects.filter(organization=org, number__isnull=False)
            .values_list("number", "pk", "status", "kind", "amount_due", "issue_date", "currency"))
    return {number: NumberedInvoice(pk, status, kind, round_money(due, currency), issued, currency)
            for number, pk, status, kind, due, issued, currency in rows}


def find_invoice(invoices: dict[str, NumberedInvoice], row) -> tuple[NumberedInvoice | None, list]:
    number = row.values["invoice_number"].strip()
    found = invoices.get(number)
    if found is None:
        return None, [row.error("invoice_number", f"No invoice {number} in this organization; import the "
                                                  f"invoices first.")]
    return found, []
