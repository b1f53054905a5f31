"""The recurring run in batches: many schedules issued in one transaction, set-based.

A month-end run bills thousands of schedules; issuing each through `services.issue_invoice` costs
about twenty round trips per invoice. Here a batch of schedules (`BATCH`) is billed with a fixed
number of statements: the schedules locked in one query, their runs and lines read in one each,
the invoices, lines and events written with COPY (issued rows, sealed by their insert's trigger
as imports are), the numbers taken as one range per series, every posting through the ledger's
bulk door (`accounts.ledger_bulk`, one head lock per batch), the PDF render tasks queued in one
statement. The rules are the single-invoice path's: totals (`services._apply_totals`), snapshot
(`services._snapshot`), posting lines (`services.issue_lines`), the run row's uniqueness per
(schedule, period date) and the schedule's row lock.

Only the plain case is batched: a schedule that issues (not "draft for review", not "issue and
e-mail"), for a customer that is not archived, whose invoices total more than zero. Every other
schedule, and a whole batch whose posting the ledger refuses (a locked period, a missing rate),
goes through `recurring.run_schedule`, one schedule at a time, which says why on its runs.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.chart import system_accounts
from accounts.imports.copy import copy_insert
from accounts.ledger import LedgerError, rate_of
from accounts.ledger_bulk import BulkEntry, bulk_post
from invoicing import documents, hooks
from invoicing.mail import fill
from invoicing.models import Invoice, InvoiceEvent, InvoiceKind, InvoiceLine, InvoiceSettings, InvoiceStatus
from invoicing.models_recurring import RecurringLine, RecurringRun, RecurringSchedule, RunAction, RunStatus
from invoicing.numbering import NEXT_NUMBER, format_number
from invoicing.recurring import MAX_CATCH_UP, placeholder_values, schedule_dates
from invoicing.services import MAX_LINES, _apply_totals, _snapshot, issue_lines

BATCH = 1000

INVOICE_COLUMNS = ["id", "organization", "customer", "kind", "status", "number", "currency", "issue_date", "due_date",
                   "reference", "discount_percent", "notes", "terms", "subtotal", "discount_total", "tax_total",
                   "total", "amount_paid", "amount_credited", "amount_written_off", "amount_due", "snapshot",
                   "issue_entry", "issued_at", "issued_by", "dispute_reason", "created_at", "created_by", "fx_rate"]
LINE_COLUMNS = ["organization", "invoice", "position", "description", "quantity", "unit", "unit_price",
                "discount_percent", "tax_rate", "item", "tax_percent", "gross_amount", "net_amount", "tax_amount"]
EVENT_COLUMNS = ["organization", "invoice", "at", "kind", "message", "actor"]

# A range of numbers in one statement: the series row moves on by `count` (created at `count`).
_TAKE_RANGE_SQL = """
INSERT INTO invoicing_numberseries (organization_id, kind, year, last_number) VALUES (%s, %s, %s, %s)
ON CONFLICT (organization_id, kind, year) DO UPDATE SET last_number = invoicing_numberseries.last_number + %s
RETURNING last_number
"""
assert "last_number + 1" in NEXT_NUMBER  # the single-number upsert this extends


class _Bill:
    """One period of one schedule, as it will be issued."""

    __slots__ = ("schedule", "when", "end", "invoice", "lines", "values")

    def __init__(self, schedule, when, end):
        self.schedule, self.when, self.end = schedule, when, end


def bill_batch(org, schedule_ids: list[int], today) -> tuple[list[RecurringRun], list[int]]:
    """Bill the due periods of `schedule_ids` (one organization, in its tenant context) in one
    transaction. Returns the runs made and the ids of the schedules left to the one-at-a-time path
    (`recurring.run_schedule`). A refusal by the ledger rolls the batch back and leaves all of it
    to that path."""
    try:
        with transaction.atomic():
            return _bill_batch(org, schedule_ids, today)
    except LedgerError:
        return [], list(schedule_ids)


def _bill_batch(org, schedule_ids, today):
    # The same row locks as run_schedule, taken in the same (pk) order: two workers queue.
    schedules = list(RecurringSchedule.objects.select_for_update(of=("self",)).select_related("customer")
                     .filter(pk__in=schedule_ids).order_by("pk"))
    done: dict[int, set] = {s.pk: set() for s in schedules}
    for schedule_id, when in RecurringRun.objects.filter(schedule_id__in=done).values_list("schedule_id",
                                                                                            "period_date"):
        done[schedule_id].add(when)
    lines: dict[int, list] = {s.pk: [] for s in schedules}
    for line in (RecurringLine.objects.filter(schedule_id__in=done).select_related("tax_rate", "item")
                 .order_by("schedule_id", "position", "pk")):
        lines[line.schedule_id].append(line.entry())
    settings = InvoiceSettings.objects.get(organization=org)
    bills, left = [], []
    for schedule in schedules:
        if schedule.is_paused:
            continue
        due = [(when, end) for _k, when, end in schedule_dates(schedule, today) if when not in done[schedule.pk]]
        due = due[:MAX_CATCH_UP]
        if not due:
            continue
        schedule.organization = org
        mine = [_prepare(org, schedule, lines[schedule.pk], when, end, settings) for when, end in due]
        if (schedule.action != RunAction.ISSUE or schedule.customer.is_archived or not lines[schedule.pk]
                or len(lines[schedule.pk]) > MAX_LINES or any(b.invoice.total <= 0 for b in mine)):
            left.append(schedule.pk)
            continue
        bills.extend(mine)
    if bills:
        _issue(org, bills, settings)
    return (_store_runs(bills, today) if bills else []), left


def _prepare(org, schedule, entries, when, end, settings) -> _Bill:
    """The invoice and lines `services.save_draft` would make for this period, totals applied."""
    bill = _Bill(schedule, when, end)
    bill.values = values = placeholder_values(when, end)
    customer = schedule.customer
    invoice = Invoice(organization=org, customer=customer, kind=InvoiceKind.INVOICE, status=InvoiceStatus.DRAFT,
                      currency=customer.currency, issue_date=when,
                      due_date=when + timedelta(days=schedule.payment_terms_days),
                      reference=fill(schedule.reference, values)[:100], discount_percent=Decimal(0),
                      notes=fill(schedule.notes, values), terms=settings.default_terms)
    bill.lines = [InvoiceLine.from_entry(org, n, {**e, "description": fill(e["description"], values)[:500]},
                                         invoice=invoice) for n, e in enumerate(entries, start=1)]
    _apply_totals(invoice, bill.lines, write_lines=False)
    for line in bill.lines:
        _as_stored(line)
    bill.invoice = invoice
    return bill


_DECIMALS = [f for f in InvoiceLine._meta.concrete_fields if f.get_internal_type() == "DecimalField"]


def _as_stored(line: InvoiceLine) -> None:
    """Give the line's numbers the scale the database stores them with (a 0 discount is 0.0000,
    an amount 100.000), as the single path's issue reads them back: the snapshot writes them as text."""
    for f in _DECIMALS:
        value = getattr(line, f.attname)
        if value is not None:
            setattr(line, f.attname, value.quantize(Decimal(1).scaleb(-f.decimal_places)))


def _issue(org, bills: list[_Bill], settings) -> None:
    """Number, post and store the batch's invoices as issued (the order of issue_invoice: the
    number series, then the ledger head, both held to the commit)."""
    now = timezone.now()
    ids = _next_ids(len(bills))
    rates = {}
    for bill, pk in zip(bills, ids, strict=True):
        invoice = bill.invoice
        invoice.pk = pk
        key = (invoice.currency, invoice.issue_date)
        if key not in rates:
            rates[key] = rate_of(org, *key)
        invoice.fx_rate = rates[key]
        invoice.snapshot = _snapshot(invoice, bill.lines, settings)
        invoice.status, invoice.issued_at, invoice.issued_by, invoice.created_at = InvoiceStatus.ISSUED, now, None, now
        for line in bill.lines:
            line.invoice_id = pk
    _number(org, bills, settings)
    accounts = system_accounts(org)
    entries = [BulkEntry(issue_lines(b.invoice, accounts), effective_date=b.invoice.issue_date,
                         idempotency_key=f"invoice:{b.invoice.pk}:issue", memo=f"Invoice {b.invoice.number}",
                         source=("invoicing.invoice", b.invoice.pk), source_label=b.invoice.number,
                         rates={b.invoice.currency: b.invoice.fx_rate}) for b in bills]
    posted = bulk_post(org, entries, collect_ids=True)
    for bill, entry in zip(bills, entries, strict=True):
        bill.invoice.issue_entry_id = posted.entry_ids[entry.idempotency_key]
    # The lines first, then the invoices as issued rows: the insert's trigger seals each invoice
    # over its lines (accounts.seals), as the invoices import does.
    copy_insert(InvoiceLine, [line for b in bills for line in b.lines], LINE_COLUMNS)
    copy_insert(Invoice, [b.invoice for b in bills], INVOICE_COLUMNS)
    copy_insert(InvoiceEvent, [event for b in bills for event in _events(b, now)], EVENT_COLUMNS)
    with hooks.batched():
        for bill in bills:
            hooks.emit(org.pk, "invoice.issued", hooks.invoice_data(bill.invoice))
    tasks = [documents.render_task_row(b.invoice) for b in bills]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(ledger_task_enqueue(k, p, %s)) FROM unnest(%s::text[], %s::text[]) AS t(k, p)",
                       [now, [t.key for t in tasks], [t.payload for t in tasks]])


def _number(org, bills: list[_Bill], settings) -> None:
    """Gapless numbers: one range per series year, given out in the batch's order (schedule, then
    period date), as issuing them one by one would."""
    by_year: dict[int, list[_Bill]] = {}
    for bill in bills:
        by_year.setdefault(bill.invoice.issue_date.year if settings.reset_yearly else 0, []).append(bill)
    with connection.cursor() as cursor:
        for year, mine in sorted(by_year.items()):
            cursor.execute(_TAKE_RANGE_SQL, [org.pk, InvoiceKind.INVOICE, year, len(mine), len(mine)])
            (last,) = cursor.fetchone()
            for n, bill in enumerate(mine, start=last - len(mine) + 1):
                bill.invoice.number = format_number(settings, InvoiceKind.INVOICE, bill.invoice.issue_date.year, n)


def _events(bill: _Bill, now) -> list[InvoiceEvent]:
    invoice, values = bill.invoice, bill.values
    texts = [("created", _("Draft created")),
             ("recurring", _("Created by the schedule “%(name)s” for %(start)s – %(end)s")
              % {"name": bill.schedule.name, "start": values["period_start"], "end": values["period_end"]}),
             ("issued", _("Issued as %(number)s for %(total)s %(currency)s")
              % {"number": invoice.number, "total": invoice.total, "currency": invoice.currency})]
    return [InvoiceEvent(organization_id=invoice.organization_id, invoice_id=invoice.pk, at=now, kind=kind,
                         message=message[:500], actor=None) for kind, message in texts]


def _run(bill: _Bill, today) -> RecurringRun:
    return RecurringRun(organization_id=bill.invoice.organization_id, schedule=bill.schedule, period_date=bill.when,
                        period_end=bill.end, caught_up=bill.when < today, invoice_id=bill.invoice.pk,
                        status=RunStatus.ISSUED)


def _store_runs(bills: list[_Bill], today) -> list[RecurringRun]:
    # Unique per (organization, schedule, period date): a second biller that got past the lock
    # would fail here and roll the whole batch back.
    return RecurringRun.objects.bulk_create([_run(b, today) for b in bills], batch_size=2000)


def _next_ids(n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [Invoice._meta.db_table, n])
        return [row[0] for row in cursor.fetchall()]
