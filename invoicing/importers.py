"""The invoices importer: issued invoices from another system, with their original numbers.

One row per invoice line; rows sharing an invoice number are one invoice (one row per invoice is
the one-line case). Each invoice keeps its number, dates, currency, lines and tax; its totals
follow the one rounding rule (invoicing.totals) and it posts the same entry as issuing does
(Dr AR total, Cr revenue net, Cr tax payable tax), through the ledger's bulk door
(accounts.ledger_bulk), dated its issue date, with the idempotency key `import:invoice:<number>`.

Numbering: an imported number lives in the invoice's number field as it was. If it has the form
of the organization's own series (prefix, year if numbered per year, digits), that series moves
on past the highest imported number, so the next invoice issued here continues the sequence and
never collides; other numbers (another system's scheme) leave the series alone.

Re-importing: an invoice whose number the organization already has, for the same customer and
total, is reported as already imported and skipped; the same number with different content is
an error.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from accounts.chart import system_accounts
from accounts.imports import Field, Importer, Record, register
from accounts.imports.base import OpenPeriod
from accounts.imports.copy import copy_insert
from accounts.imports.lookup import CUSTOMER_CODE, customers_by_code, find_customer
from accounts.ledger import Line, rate_of
from accounts.ledger_bulk import BulkEntry, bulk_post
from accounts.locale import plain
from accounts.money import MAX_ABS, MoneyError, check_exact
from invoicing.models import Invoice, InvoiceEvent, InvoiceKind, InvoiceLine, InvoiceSettings, InvoiceStatus, TaxRate
from invoicing.services import MAX_LINES, _snapshot
from invoicing.totals import line_amounts, sum_lines

HUNDRED = Decimal(100)
PRICE_PLACES = Decimal("0.0001")
QTY_PLACES = Decimal("0.001")


@register
class InvoiceImporter(Importer):
    kind = "invoices"
    label = "Invoices"
    group_by = "number"
    advances_series = True
    fields = (
        Field("number", "Invoice number", "code", required=True, max_length=40,
              aliases=("invoice number", "invoice no", "invoice", "inv no", "invoice_number")),
        CUSTOMER_CODE,
        Field("issue_date", "Issue date", "date", required=True, aliases=("date", "invoice date", "issued")),
        Field("due_date", "Due date", "date", help="Empty: issue date plus the customer's payment terms.",
              aliases=("due",)),
        Field("currency", "Currency", "code", max_length=3, help="Empty: the customer's currency."),
        Field("description", "Line description", required=True, max_length=500,
              aliases=("item", "line", "details")),
        Field("quantity", "Quantity", "number", help="Empty: 1.", aliases=("qty",)),
        Field("unit_price", "Unit price", "number", required=True, aliases=("price", "amount", "net")),
        Field("discount_percent", "Line discount (%)", "number", aliases=("discount",)),
        Field("tax_percent", "Tax (%)", "number", aliases=("tax", "vat", "tax rate", "vat %")),
        Field("reference", "Reference / PO", max_length=100, aliases=("po", "po number")),
        Field("status", "Status", max_length=20, help="Empty, issued, open, paid or overdue: an issued invoice; "
                                                      "draft: stays a draft (no number taken, nothing posted).",
              aliases=("state", "invoice status")),
        Field("invoice_discount_percent", "Invoice discount (%)", "number",
              help="A discount on the whole invoice, after line discounts and before tax (as the invoice "
                   "screen's); the same on every line of the invoice. Empty: none.",
              aliases=("invoice discount", "invoice discount %", "header discount", "discount on invoice")),
        Field("notes", "Notes", max_length=5000,
              help="The invoice's notes (printed on it); the same on every line of the invoice. Empty: none.",
              aliases=("invoice notes", "note")),
        Field("terms", "Terms", max_length=5000,
              help="The invoice's terms (printed on it); the same on every line of the invoice. Empty: none.",
              aliases=("invoice terms", "payment terms text", "conditions")),
    )

    def begin(self, org, actor):
        today = org.today()
        drafts, imported = {}, set()
        for message, invoice_id, customer_id, total in InvoiceEvent.objects.filter(
                organization=org, kind="imported", message__startswith=DRAFT_EVENT).values_list(
                "message", "invoice_id", "invoice__customer_id", "invoice__total"):
            drafts[message[len(DRAFT_EVENT):-1]] = (customer_id, total)
            imported.add(invoice_id)
        # Drafts made here come out of the export as DRAFT-<id>: importing that file again finds them.
        for pk, customer_id, total in Invoice.objects.filter(
                organization=org, status=InvoiceStatus.DRAFT, kind=InvoiceKind.INVOICE).values_list(
                "pk", "customer_id", "total"):
            if pk not in imported:
                drafts.setdefault(f"{DRAFT_PREFIX}{pk}", (customer_id, total))
        return {
            "drafts": drafts,
            "org": org, "actor": actor, "today": today,
            "period": OpenPeriod(org, today),
            "customers": customers_by_code(org),
            "existing": {n: (c, t) for n, c, t in Invoice.objects.filter(organization=org, number__isnull=False)
                         .values_list("number", "customer_id", "total")},
            "rates": {r.percent: r for r in TaxRate.objects.filter(organization=org, archived=False)},
            "settings": InvoiceSettings.objects.get(organization=org),
        }

    def check(self, state, rows):
        first = rows[0]
        v = first.values
        number = v["number"].strip()
        errors = []
        if len(rows) > MAX_LINES:
            return None, [first.error("number", f"Invoice {number} has more than {MAX_LINES} lines.")]
        for row in rows[1:]:
            for name in ("customer_code", "issue_date", "due_date", "currency", "reference", "status",
                         "invoice_discount_percent", "notes", "terms"):
                if row.values.get(name) not in (None, v.get(name)):
                    errors.append(row.error(name, f"Differs from row {first.number}, the first line of "
                                                  f"invoice {number}."))
        customer, missing = find_customer(state["customers"], first)
        if customer is None:
            return None, errors + missing
        currency = (v.get("currency") or customer.currency).upper()
        if currency != customer.currency:
            errors.append(first.error("currency", f"{customer.name} is billed in {customer.currency}, not "
                                                  f"{currency}."))
        if customer.is_archived:
            errors.append(first.error("customer_code", f"{customer.name} is archived; restore it first."))
        issue, due = v["issue_date"], v.get("due_date")
        status = (v.get("status") or "").strip().lower()
        if status not in ISSUED_WORDS and status != "draft":
            errors.append(first.error("status", "The status is issued (or open, paid, overdue) or draft; a void "
                                                "or cancelled invoice owes nothing: leave it out."))
        draft = status == "draft"
        # A draft posts nothing and takes no number: the ledger's date rules apply when it is issued.
        if not draft and issue > state["today"]:
            errors.append(first.error("issue_date", "The issue date is in the future."))
        if not draft and (too_old := state["period"].too_old(issue)):
            errors.append(first.error("issue_date", too_old))
        if not draft and (closed := state["period"].refuse(issue)):
            errors.append(first.error("issue_date", closed))
        if due is None:
            due = issue + timedelta(days=customer.payment_terms_days)
        elif due < issue:
            errors.append(first.error("due_date", "The due date is before the issue date."))
        invoice_discount = v.get("invoice_discount_percent") or Decimal(0)
        if not Decimal(0) <= invoice_discount < HUNDRED or invoice_discount != invoice_discount.quantize(PRICE_PLACES):
            errors.append(first.error("invoice_discount_percent", "The invoice discount is from 0 up to (not "
                                                                  "including) 100 %, with at most 4 decimals."))
            invoice_discount = Decimal(0)
        lines, amounts = [], []
        for position, row in enumerate(rows, start=1):
            line, line_errors = self._line(row, position, currency)
            errors.extend(line_errors)
            if line is not None:
                lines.append(line)
                amounts.append((line.tax_percent, line_amounts(line.quantity, line.unit_price,
                                                                line.discount_percent, invoice_discount,
                                                                line.tax_percent, currency)))
        if errors:
            return None, errors
        totals = sum_lines(amounts)
        if totals.total <= 0:
            return None, [first.error("unit_price", f"Invoice {number} totals {totals.total}; it must be more "
                                                    f"than zero.")]
        if totals.total > MAX_ABS:
            return None, [first.error("unit_price", f"Invoice {number} totals more than the ledger stores.")]
        seen = state["drafts"] if draft else state["existing"]
        if number in seen:
            customer_id, total = seen[number]
            if customer_id == customer.pk and total == totals.total:
                return Record(key=number, rows=[r.number for r in rows], data=None, exists=True), []
            what = "a draft imported as" if draft else "an invoice"
            return None, [first.error("number", f"The organization already has {what} {number} (for another "
                                                f"customer or amount).")]
        if draft and number in state["existing"]:
            return None, [first.error("number", f"The organization already has an issued invoice {number}.")]
        if not draft and number in state["drafts"]:
            return None, [first.error("number", f"Invoice {number} was imported as a draft; issue that draft "
                                                f"instead.")]
        seen[number] = (customer.pk, totals.total)
        head = {"customer": customer, "number": number, "currency": currency, "issue_date": issue, "due_date": due,
                "reference": v.get("reference") or "", "totals": totals, "draft": draft,
                "discount_percent": invoice_discount, "notes": v.get("notes") or "", "terms": v.get("terms") or ""}
        return Record(key=number, rows=[r.number for r in rows], data=(head, list(zip(lines, amounts, strict=True))),
                      currency=currency, amount=totals.total, day=issue), []

    def _line(self, row, position, currency):
        v, errors = row.values, []
        quantity = v.get("quantity") if v.get("quantity") is not None else Decimal(1)
        price = v["unit_price"]
        discount = v.get("discount_percent") or Decimal(0)
        tax = v.get("tax_percent") or Decimal(0)
        if quantity <= 0 or quantity != quantity.quantize(QTY_PLACES) or quantity >= Decimal(10) ** 9:
            errors.append(row.error("quantity", "The quantity must be more than 0, with at most 3 decimals."))
        if price < 0:
            errors.append(row.error("unit_price", "The unit price cannot be negative; import a credit note "
                                                  "instead."))
        elif price != price.quantize(PRICE_PLACES) or price > MAX_ABS:
            errors.append(row.error("unit_price", "The unit price has more than 4 decimals or is too large."))
        for name, value in (("discount_percent", discount), ("tax_percent", tax)):
            if not Decimal(0) <= value <= HUNDRED or value != value.quantize(PRICE_PLACES):
                errors.append(row.error(name, "A percentage is between 0 and 100, with at most 4 decimals."))
        if errors:
            return None, errors
        if quantity * price > MAX_ABS:
            return None, [row.error("unit_price", "The line's amount is beyond what the ledger stores.")]
        return _LineData(position, v["description"], quantity, price, discount, tax), []

    def entry(self, invoice: Invoice, acc) -> BulkEntry:
        """The issuing entry of an imported invoice (the opening-balances import posts its own)."""
        return _entry(invoice, acc)

    def write(self, state, records, progress):
        drafts = [r for r in records if r.data[0].get("draft")]
        if drafts:
            self._write_drafts(state, drafts, progress)
            records = [r for r in records if not r.data[0].get("draft")]
        written = self._write_issued(state, records, progress) if records else 0
        return {"invoices": written, "drafts": len(drafts)} if drafts else {"invoices": written}

    def _write_drafts(self, state, records, progress):
        """Drafts stay drafts: no number from the series (the source's number is on the timeline, the
        re-import key), no snapshot, no posting. Issuing one later numbers and posts it as usual."""
        org, actor = state["org"], state["actor"]
        for start in range(0, len(records), 2000):
            batch = records[start:start + 2000]
            invoices = []
            for record, pk in zip(batch, _next_ids(Invoice, len(batch)), strict=True):
                invoice = _invoice(org, actor, record.data[0])
                invoice.pk, invoice.number, invoice.status, invoice.issued_by = pk, None, InvoiceStatus.DRAFT, None
                invoices.append(invoice)
            now = timezone.now()
            lines = [_invoice_line(org, invoice, data, a, state["rates"])
                     for invoice, record in zip(invoices, batch, strict=True) for data, (_p, a) in record.data[1]]
            copy_insert(Invoice, invoices, INVOICE_COLUMNS)
            copy_insert(InvoiceLine, lines, LINE_COLUMNS)
            copy_insert(InvoiceEvent, [
                _event(org, invoice, actor, now, f"{DRAFT_EVENT}{record.data[0]['number']})")
                for invoice, record in zip(invoices, batch, strict=True)],
                ["organization", "invoice", "at", "kind", "message", "actor"])
            progress(len(batch))

    def _write_issued(self, state, records, progress):
        org, actor = state["org"], state["actor"]
        acc = system_accounts(org)
        settings = state["settings"]
        written = 0
        for start in range(0, len(records), 2000):
            batch = records[start:start + 2000]
            invoices = [_invoice(org, actor, record.data[0]) for record in batch]
            # The ids first, so the entries can name their invoice and the invoices their entry:
            # no UPDATE afterwards (the foreign keys are checked at commit).
            rates = {}  # (currency, day) -> the rate of that day (accounts.fx), looked up once
            for invoice, pk in zip(invoices, _next_ids(Invoice, len(invoices)), strict=True):
                invoice.pk = pk
                key = (invoice.currency, invoice.issue_date)
                if key not in rates:
                    rates[key] = rate_of(org, *key)
                invoice.fx_rate = rates[key]
            entries = [self.entry(invoice, acc) for invoice in invoices]
            result = bulk_post(org, entries, actor=actor, collect_ids=True)
            now = timezone.now()
            lines = []
            for invoice, record, entry in zip(invoices, batch, entries, strict=True):
                invoice.issue_entry_id = result.entry_ids[entry.idempotency_key]
                mine = [_invoice_line(org, invoice, data, a, state["rates"]) for data, (_p, a) in record.data[1]]
                invoice.snapshot = _snapshot(invoice, mine, settings)
                invoice.issued_at = now
                lines.extend(mine)
            # The lines first, then the invoices, issued as they are inserted: an invoice is sealed
            # (accounts.seals) by its insert's trigger, and the seal covers its lines, which are there
            # by then (their foreign key to the invoice is checked at commit). Issued rows are frozen
            # (accounts.frozen), so nothing is changed after. One INSERT of issued rows, not drafts
            # and an UPDATE: the reports' summaries follow an insert per statement, an update per row
            # (the update was most of the import's time).
            copy_insert(InvoiceLine, lines, LINE_COLUMNS)
            copy_insert(Invoice, invoices, INVOICE_COLUMNS)
            copy_insert(InvoiceEvent, [
                _event(org, invoice, actor, now, f"Imported as {invoice.number} for {invoice.total} {invoice.currency}")
                for invoice in invoices], ["organization", "invoice", "at", "kind", "message", "actor"])
            written += len(batch)
            progress(len(batch))
        if self.advances_series:
            _advance_series(org, settings, [(r.data[0]["number"], r.data[0]["issue_date"]) for r in records])
        return written


# An imported draft's timeline says the number it had in the source: the draft's re-import key.
DRAFT_EVENT = "Imported as a draft (number in the source file: "
DRAFT_PREFIX = "DRAFT-"  # a draft made here, in the export: it has no number of its own
ISSUED_WORDS = {"", "issued", "open", "sent", "paid", "overdue", "unpaid", "partially paid", "partly paid"}

# What an imported invoice and line set; every other column takes the table's default.
INVOICE_COLUMNS = ["id", "organization", "customer", "kind", "status", "number", "currency", "issue_date", "due_date",
                   "reference", "discount_percent", "notes", "terms", "subtotal", "discount_total", "tax_total",
                   "total", "amount_paid", "amount_credited", "amount_written_off", "amount_due", "snapshot",
                   "issue_entry", "issued_at", "issued_by", "dispute_reason", "created_at", "created_by", "fx_rate"]
LINE_COLUMNS = ["organization", "invoice", "position", "description", "quantity", "unit", "unit_price",
                "discount_percent", "tax_rate", "tax_percent", "gross_amount", "net_amount", "tax_amount"]


class _LineData(NamedTuple):
    position: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_percent: Decimal


def _invoice(org, actor, head) -> Invoice:
    t = head["totals"]
    return Invoice(organization=org, customer=head["customer"], status=InvoiceStatus.ISSUED, number=head["number"],
                   currency=head["currency"], issue_date=head["issue_date"], due_date=head["due_date"],
                   reference=head["reference"], discount_percent=head.get("discount_percent", Decimal(0)),
                   notes=head.get("notes", ""), terms=head.get("terms", ""),
                   subtotal=t.subtotal, discount_total=t.discount, tax_total=t.tax,
                   total=t.total, amount_due=t.total, created_by=actor, issued_by=actor, created_at=timezone.now())


@dataclass(slots=True)
class _Row:
    """A line (or timeline event) as COPY writes it: the model's attribute names, without building
    a model instance per row (Django's Model.__init__ was a fifth of the import's Python time).
    `_snapshot` reads a line's fields and its tax rate, which it has too."""

    organization_id: int
    invoice_id: int
    position: int = 0
    description: str = ""
    quantity: Decimal = Decimal(0)
    unit: str = ""
    unit_price: Decimal = Decimal(0)
    discount_percent: Decimal = Decimal(0)
    tax_rate: TaxRate | None = None
    tax_rate_id: int | None = None
    tax_percent: Decimal = Decimal(0)
    gross_amount: Decimal = Decimal(0)
    net_amount: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    at: object = None
    kind: str = ""
    message: str = ""
    actor_id: int | None = None


def _invoice_line(org, invoice, data: _LineData, a, rates) -> _Row:
    rate = rates.get(data.tax_percent)
    return _Row(organization_id=org.pk, invoice_id=invoice.pk, position=data.position, description=data.description,
                quantity=data.quantity, unit_price=data.unit_price, discount_percent=data.discount_percent,
                tax_percent=data.tax_percent, tax_rate=rate, tax_rate_id=rate.pk if rate else None,
                gross_amount=a.gross, net_amount=a.net, tax_amount=a.tax)


def _event(org, invoice, actor, at, message) -> _Row:
    return _Row(organization_id=org.pk, invoice_id=invoice.pk, at=at, kind="imported", message=message,
                actor_id=getattr(actor, "pk", None))


def _next_ids(model, n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [model._meta.db_table, n])
        return [row[0] for row in cursor.fetchall()]


def _entry(invoice: Invoice, acc) -> BulkEntry:
    lines = [Line(acc["ar"], invoice.total, invoice.customer)]
    net = invoice.total - invoice.tax_total
    if net:
        lines.append(Line(acc["revenue"], -net, currency=invoice.currency))
    if invoice.tax_total:
        lines.append(Line(acc["tax"], -invoice.tax_total, currency=invoice.currency))
    return BulkEntry(lines, effective_date=invoice.issue_date, idempotency_key=f"import:invoice:{invoice.number}",
                     memo=f"Invoice {invoice.number} (imported)", source=("invoicing.invoice", invoice.pk),
                     source_label=invoice.number, rates={invoice.currency: invoice.fx_rate})


def _advance_series(org, settings: InvoiceSettings, invoices) -> None:
    """Move the organization's invoice series past imported numbers that have its own form."""
    prefix = re.escape(settings.invoice_prefix)
    pattern = re.compile(rf"^{prefix}(\d{{4}})-(\d+)$" if settings.number_includes_year else rf"^{prefix}(\d+)$")
    highest: dict[int, int] = {}
    for number, issue_date in invoices:
        match = pattern.match(number)
        if not match:
            continue
        if settings.number_includes_year:
            year, n = int(match.group(1)), int(match.group(2))
        else:
            year, n = issue_date.year, int(match.group(1))
        key = year if settings.reset_yearly else 0
        highest[key] = max(highest.get(key, 0), n)
    with connection.cursor() as cursor:
        for year, n in highest.items():
            cursor.execute(
                "INSERT INTO invoicing_numberseries (organization_id, kind, year, last_number) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (organization_id, kind, year) DO UPDATE SET last_number ="
                " GREATEST(invoicing_numberseries.last_number, EXCLUDED.last_number)",
                [org.pk, "invoice", year, n])


@register
class CreditNoteImporter(Importer):
    """Credit notes from another system, with their own numbers: a gross amount (tax included at
    the row's tax %), against an invoice (applied to what it still owes, the rest stays as the
    customer's credit) or standalone. Each goes through invoicing.credit_notes.credit_amount, the
    credit screen's door, keyed `import:credit_note:<number>`."""

    kind = "credit_notes"
    label = "Credit notes"
    fields = (
        Field("number", "Credit note number", "code", required=True, max_length=40,
              aliases=("credit note number", "credit note", "cn number", "number")),
        CUSTOMER_CODE,
        Field("issue_date", "Issue date", "date", required=True, aliases=("date",)),
        Field("amount", "Amount (tax included)", "number", required=True, aliases=("total", "gross")),
        Field("tax_percent", "Tax (%)", "number", aliases=("tax", "vat")),
        Field("invoice_number", "Invoice credited", "code", max_length=40,
              aliases=("invoice", "invoice number")),
        Field("reason", "Reason", max_length=500, help="Empty: “Imported credit note”."),
    )

    def begin(self, org, actor):
        from invoicing.models import CreditNote

        today = org.today()
        invoices = {}
        for pk, number, customer_id, total, status in Invoice.objects.filter(
                organization=org, number__isnull=False).values_list("pk", "number", "customer_id", "total", "status"):
            invoices[number] = [pk, customer_id, total if status == InvoiceStatus.ISSUED else Decimal(0)]
        by_id = {entry[0]: entry for entry in invoices.values()}
        for invoice_id, total in CreditNote.objects.filter(organization=org, invoice__isnull=False).values_list(
                "invoice_id", "total"):
            if invoice_id in by_id:
                by_id[invoice_id][2] -= total
        return {"org": org, "actor": actor, "today": today,
                "period": OpenPeriod(org, today),
                "customers": customers_by_code(org),
                "existing": {n: (c, t) for n, c, t in CreditNote.objects.filter(organization=org)
                             .values_list("number", "customer_id", "total")},
                "invoices": invoices}

    def check(self, state, rows):
        row = rows[0]
        v, errors = row.values, []
        number = v["number"].strip()
        customer, missing = find_customer(state["customers"], row)
        if customer is None:
            return None, missing
        try:
            amount = check_exact(v["amount"], customer.currency)
            if amount <= 0:
                errors.append(row.error("amount", "The amount must be more than zero."))
        except MoneyError as e:
            return None, [row.error("amount", str(e))]
        tax = v.get("tax_percent") or Decimal(0)
        if not Decimal(0) <= tax <= HUNDRED:
            errors.append(row.error("tax_percent", "A percentage is between 0 and 100."))
        day = v["issue_date"]
        if day > state["today"]:
            errors.append(row.error("issue_date", "The issue date is in the future."))
        if too_old := state["period"].too_old(day):
            errors.append(row.error("issue_date", too_old))
        if closed := state["period"].refuse(day):
            errors.append(row.error("issue_date", closed))
        invoice_id = None
        if v.get("invoice_number"):
            found = state["invoices"].get(v["invoice_number"].strip())
            if found is None or found[1] != customer.pk:
                errors.append(row.error("invoice_number", f"{customer.name} has no invoice "
                                                          f"{v['invoice_number'].strip()} in this organization."))
            elif not errors and amount > found[2]:
                errors.append(row.error("amount", f"That credits more than the {found[2]} not yet credited on "
                                                  f"{v['invoice_number'].strip()}."))
            elif not errors:
                invoice_id = found[0]
                found[2] -= amount
        if errors:
            return None, errors
        if number in state["existing"]:
            customer_id, total = state["existing"][number]
            if customer_id == customer.pk and total == amount:
                return Record(key=number, rows=[row.number], data=None, exists=True), []
            return None, [row.error("number", f"The organization already has a credit note {number} (for another "
                                              f"customer or amount).")]
        state["existing"][number] = (customer.pk, amount)
        data = {"customer": customer, "amount": amount, "tax_percent": tax, "invoice_id": invoice_id,
                "issue_date": day, "number": number, "reason": v.get("reason") or "Imported credit note"}
        return Record(key=number, rows=[row.number], data=data, currency=customer.currency, amount=amount,
                      day=day), []

    def write(self, state, records, progress):
        from invoicing.credit_notes import credit_amount

        for record in records:
            d = record.data
            invoice = Invoice.objects.get(pk=d["invoice_id"]) if d["invoice_id"] else None
            credit_amount(d["customer"], d["amount"], d["reason"], actor=state["actor"], invoice=invoice,
                          tax_percent=d["tax_percent"], idempotency_key=f"import:credit_note:{d['number']}",
                          issue_date=d["issue_date"], number=d["number"])
            progress(1)
        return {"credit_notes": len(records)}


def _invoice_rows(org):
    """Issued invoices, then drafts, one row per line (void ones are left out: they owe nothing). A
    draft carries the number it was imported with (its timeline keeps it), else DRAFT-<id>: either
    is its key when the file is imported again."""
    yield [f.name for f in InvoiceImporter.fields]
    issued = (Invoice.objects.filter(organization=org, status=InvoiceStatus.ISSUED)
              .select_related("customer").prefetch_related("lines").order_by("issue_date", "pk"))
    for invoice in issued.iterator(chunk_size=1000):
        yield from _line_rows(invoice, invoice.number, "issued")
    sources = _draft_numbers(org)
    drafts = (Invoice.objects.filter(organization=org, status=InvoiceStatus.DRAFT, kind=InvoiceKind.INVOICE)
              .select_related("customer").prefetch_related("lines").order_by("issue_date", "pk"))
    for invoice in drafts.iterator(chunk_size=1000):
        yield from _line_rows(invoice, sources.get(invoice.pk) or f"{DRAFT_PREFIX}{invoice.pk}", "draft")


def _line_rows(invoice, number, status):
    for line in invoice.lines.all():
        yield [number, invoice.customer.code, invoice.issue_date.isoformat(),
               invoice.due_date.isoformat(), invoice.currency, line.description, plain(line.quantity),
               plain(line.unit_price), plain(line.discount_percent), plain(line.tax_percent), invoice.reference,
               status, plain(invoice.discount_percent) if invoice.discount_percent else "", invoice.notes,
               invoice.terms]


def _draft_numbers(org) -> dict[int, str]:
    """Draft id -> the number it had in the file it was imported from."""
    return {invoice_id: message[len(DRAFT_EVENT):-1] for invoice_id, message in InvoiceEvent.objects.filter(
        organization=org, kind="imported", message__startswith=DRAFT_EVENT).values_list("invoice_id", "message")}


def _credit_note_rows(org):
    from invoicing.models import CreditNote

    yield [f.name for f in CreditNoteImporter.fields]
    notes = (CreditNote.objects.filter(organization=org).select_related("customer", "invoice")
             .prefetch_related("lines").order_by("issue_date", "pk"))
    for note in notes:
        rates = {line.tax_percent for line in note.lines.all()}
        tax = rates.pop() if len(rates) == 1 else (note.tax_total * 100 / note.subtotal if note.subtotal else 0)
        yield [note.number, note.customer.code, note.issue_date.isoformat(), plain(note.total), plain(Decimal(tax)),
               note.invoice.number if note.invoice else "", note.reason]


InvoiceImporter.export_rows = staticmethod(_invoice_rows)
CreditNoteImporter.export_rows = staticmethod(_credit_note_rows)
