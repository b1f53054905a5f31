"""The opening-balances import: what each customer owed (or had in credit) when the books moved
here, as open items that aging, statements and payments see like any other.

One row per open item: customer code, date, amount, currency (empty: the customer's), optional
reference. Each row becomes, as of its date:

- amount > 0: an issued invoice of one line "Opening balance", issued and due on the row's date
  (so aging ages it from that date), posted Dr AR / Cr Opening balances (equity, account 3900,
  `accounts.chart.opening_balance_account`) through the ledger's bulk door, like the invoices
  import (the same write path: `InvoiceImporter.write`);
- amount < 0: a standalone credit note of that amount through the credit-note door
  (`invoicing.credit_notes.credit_amount`), posted Dr Opening balances / Cr AR: an unapplied credit
  of the customer, which the payments and allocation screens can apply to later invoices.

Numbers: `OB-<customer code>-<YYYYMMDD>`, with `-2`, `-3`, ... for the second and later rows of the
same customer and date in the file; the posting's idempotency key is `import:opening:<number>`.
Re-importing the file finds those numbers (same customer, same amount) and writes nothing.
"""

from decimal import Decimal

from accounts.chart import opening_balance_account
from accounts.imports import Field, Record, register
from accounts.imports.base import OpenPeriod
from accounts.imports.lookup import CUSTOMER_CODE, customers_by_code, find_customer
from accounts.ledger import Line
from accounts.ledger_bulk import BulkEntry
from accounts.money import MAX_ABS, MoneyError, check_exact
from invoicing.importers import InvoiceImporter, _LineData
from invoicing.models import CreditNote, Invoice, InvoiceSettings, TaxRate
from invoicing.totals import line_amounts, sum_lines

LABEL = "Opening balance"


@register
class OpeningBalanceImporter(InvoiceImporter):
    kind = "opening_balances"
    label = "Opening balances"
    group_by = None
    advances_series = False
    fields = (
        CUSTOMER_CODE,
        Field("date", "Date", "date", required=True, help="The day the customer owed it; aging counts from it.",
              aliases=("as of", "opening date", "balance date")),
        Field("amount", "Amount", "number", required=True,
              help="What the customer owes; negative: a credit the customer has.",
              aliases=("balance", "opening balance", "open amount")),
        Field("currency", "Currency", "code", max_length=3, help="Empty: the customer's currency."),
        Field("reference", "Reference", max_length=100, aliases=("ref", "invoice", "note")),
    )

    def begin(self, org, actor):
        today = org.today()
        return {
            "org": org, "actor": actor, "today": today,
            "period": OpenPeriod(org, today),
            "customers": customers_by_code(org),
            "invoices": {n: (c, t) for n, c, t in Invoice.objects.filter(organization=org, number__startswith="OB-")
                         .values_list("number", "customer_id", "total")},
            "credits": {n: (c, t) for n, c, t in CreditNote.objects.filter(organization=org, number__startswith="OB-")
                        .values_list("number", "customer_id", "total")},
            "rates": {r.percent: r for r in TaxRate.objects.filter(organization=org, archived=False)},
            "settings": InvoiceSettings.objects.get(organization=org),
            "occurrences": {},
        }

    def check(self, state, rows):
        row = rows[0]
        v, errors = row.values, []
        customer, missing = find_customer(state["customers"], row)
        if customer is None:
            return None, missing
        if customer.is_archived:
            errors.append(row.error("customer_code", f"{customer.name} is archived; restore it first."))
        currency = (v.get("currency") or customer.currency).upper()
        if currency != customer.currency:
            errors.append(row.error("currency", f"{customer.name}'s balance is kept in {customer.currency}, not "
                                                f"{currency}."))
        amount = None
        try:
            amount = check_exact(v["amount"], customer.currency)
        except MoneyError as e:
            errors.append(row.error("amount", str(e)))
        if amount is not None and amount == 0:
            errors.append(row.error("amount", "The amount is zero: a customer who owes nothing needs no opening "
                                              "balance."))
        elif amount is not None and abs(amount) > MAX_ABS:
            errors.append(row.error("amount", "The amount is beyond what the ledger stores."))
        day = v["date"]
        if day > state["today"]:
            errors.append(row.error("date", "The date is in the future; an opening balance is owed already."))
        elif too_old := state["period"].too_old(day):
            errors.append(row.error("date", too_old))
        elif closed := state["period"].refuse(day):
            errors.append(row.error("date", closed))
        if errors:
            return None, errors
        base = f"OB-{customer.code}-{day:%Y%m%d}"
        n = state["occurrences"][base] = state["occurrences"].get(base, 0) + 1
        number = base if n == 1 else f"{base}-{n}"
        existing = state["invoices"] if amount > 0 else state["credits"]
        if number in existing:
            if existing[number] == (customer.pk, abs(amount)):
                return Record(key=number, rows=[row.number], data=None, exists=True), []
            return None, [row.error("amount", f"The opening balance {number} was imported before with another "
                                              f"amount ({existing[number][1]}); void or credit it first.")]
        existing[number] = (customer.pk, abs(amount))
        reference = (v.get("reference") or "").strip()
        if amount < 0:
            data = ("credit", {"customer": customer, "amount": -amount, "number": number, "day": day,
                               "reference": reference})
        else:
            line = _LineData(1, LABEL, Decimal(1), amount, Decimal(0), Decimal(0))
            amounts = line_amounts(Decimal(1), amount, Decimal(0), Decimal(0), Decimal(0), currency)
            head = {"customer": customer, "number": number, "currency": currency, "issue_date": day,
                    "due_date": day, "reference": reference, "totals": sum_lines([(Decimal(0), amounts)])}
            data = ("invoice", (head, [(line, (Decimal(0), amounts))]))
        return Record(key=number, rows=[row.number], data=data, currency=currency, amount=amount, day=day), []

    def entry(self, invoice, acc) -> BulkEntry:
        lines = [Line(acc["ar"], invoice.total, invoice.customer), Line(acc["opening"], -invoice.total,
                                                                        currency=invoice.currency)]
        return BulkEntry(lines, effective_date=invoice.issue_date, idempotency_key=f"import:opening:{invoice.number}",
                         memo=f"{LABEL} {invoice.number} (imported)", source=("invoicing.invoice", invoice.pk),
                         source_label=invoice.number, rates={invoice.currency: invoice.fx_rate})

    def write(self, state, records, progress):
        from invoicing.credit_notes import credit_amount

        opening_balance_account(state["org"])  # before the invoices' entries look it up
        invoices = [Record(key=r.key, rows=r.rows, data=r.data[1]) for r in records if r.data[0] == "invoice"]
        if invoices:
            self._write_issued(state, invoices, progress)
        credits = [r.data[1] for r in records if r.data[0] == "credit"]
        for d in credits:
            reason = LABEL + (f" ({d['reference']})" if d["reference"] else "")
            credit_amount(d["customer"], d["amount"], reason, actor=state["actor"],
                          idempotency_key=f"import:opening:{d['number']}", issue_date=d["day"], number=d["number"],
                          account_key="opening")
            progress(1)
        return {"opening_invoices": len(invoices), "opening_credits": len(credits)}

    @staticmethod
    def export_rows(org):
        return None  # exported as what they are: invoices and credit notes
