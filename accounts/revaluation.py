"""Unrealized exchange differences at a period end (issue 17 item 4), one home.

What is still owed in a foreign currency on a day is worth, in the base currency, its balance at that
day's rate; the ledger carries it at the rates it was booked at (the base amounts of its receivable
lines). `measure(org, day)` lists both per customer and currency, straight from the journal's
receivable lines up to the day (so a past day uses its own lines and its own rates). `post(org, day)`
books the difference through the ledger's one door, dated that day:

    AR (customer)                       0 in its currency,  + (current − booked) in base
    Unrealized exchange gain / loss     0 in the currency,  − the net difference of that currency, in base

and its automatic reversal (ledger.reverse, the mirror image) dated the next day, the first day of the
next period, so the realized differences posted at allocation (payments.allocation) keep measuring
against the rates the documents were booked at. Both are posted in one transaction, or neither.

Every figure is rounded once per the base currency's minor unit (accounts.money). A currency without a
rate on the day (accounts.fx.rate_on: at most FX_RATE_MAX_AGE_DAYS old) refuses the whole measure
naming the currency and day; nothing is posted. Lines posted before base amounts existed (hash
versions 1–2) have no booked base: those balances are listed as not measurable and left out.

Per document. A customer's difference is the sum of its open documents' differences: each foreign
invoice open on the day (and each payment or credit note not yet applied) is worth its open amount at
the day's rate, rounded once, and is carried at what was booked for it (its entry's base minus the
base of what was applied to it, at its own rate: `DOCUMENTS`, plugged in by reports, reads both), so
its difference is its open amount × (the day's rate − its own rate). What the customer's receivable
carries beyond its documents (an entry to the receivable no document explains) is one more row, of
kind "o", so the rows always add up to the customer's line. `post` stores the rows
(`RevaluationLine`, append-only) with the entry: the breakdown a user opens from the report.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction

from accounts import fx, ledger
from accounts.chart import system_account, unrealized_fx_account
from accounts.ledger import LedgerError, Line
from accounts.models_customer import Customer
from accounts.models_fx import RevaluationLine
from accounts.models_ledger import JournalEntry
from accounts.money import round_money


class RevaluationError(LedgerError):
    """A revaluation that was refused; nothing was posted."""


@dataclass(frozen=True)
class Document:
    """An open foreign-currency document on a day, as the plugged-in reader (DOCUMENTS) gives it."""
    kind: str  # "i" invoice, "p" payment, "c" credit note
    document_id: int
    customer_id: int
    currency: str
    number: str
    doc_date: datetime.date
    amount: Decimal  # open (invoice, positive) or unapplied (payment, credit note, negative)
    booked: Decimal | None  # the base value the ledger carries it at; None: booked before base amounts


# (org, day) -> [Document]: every foreign-currency document open at the end of the day. Set by
# reports (reports.revaluation_items.open_documents), which owns what was open on a day.
DOCUMENTS = None


@dataclass(frozen=True)
class DocumentRow:
    kind: str  # Document.kind, or "o": what the customer's receivable carries beyond its documents
    document_id: int | None
    number: str
    doc_date: datetime.date | None
    amount: Decimal
    booked: Decimal
    rate: Decimal
    current: Decimal  # the amount at the day's rate, rounded once

    @property
    def difference(self) -> Decimal:
        return self.current - self.booked


@dataclass(frozen=True)
class Row:
    customer_id: int
    customer_name: str
    currency: str
    balance: Decimal  # open on the day, in the currency (receivable positive, credit negative)
    booked: Decimal | None  # the base value the ledger carries (None: lines from before base amounts)
    rate: Decimal | None
    current: Decimal | None  # Σ of its documents' values at the day's rate (each rounded once)
    documents: tuple[DocumentRow, ...] = ()

    @property
    def difference(self) -> Decimal:
        """Current minus booked: positive is an unrealized gain (the receivable is worth more)."""
        return Decimal(0) if self.booked is None or self.current is None else self.current - self.booked


def _document_rows(balance: Decimal, booked: Decimal, rate: Decimal, base: str,
                   documents: list[Document]) -> tuple[DocumentRow, ...]:
    """One customer's open documents valued at the day's rate, and the "o" row of what its receivable
    (balance, booked) carries beyond them, so that the rows add up to the receivable exactly."""
    rows = [DocumentRow(d.kind, d.document_id, d.number, d.doc_date, d.amount, d.booked, rate,
                        round_money(d.amount * rate, base)) for d in documents if d.booked is not None]
    rest_amount = balance - sum((r.amount for r in rows), Decimal(0))
    rest_booked = booked - sum((r.booked for r in rows), Decimal(0))
    if rest_amount or rest_booked:
        rows.append(DocumentRow("o", None, "", None, rest_amount, rest_booked, rate,
                                round_money(rest_amount * rate, base)))
    return tuple(rows)


@dataclass
class Measure:
    day: datetime.date
    base: str
    rows: list[Row]
    rates: dict[str, Decimal]
    entry: JournalEntry | None  # the revaluation already posted for this day, if any
    reversal: JournalEntry | None

    @property
    def unmeasured(self) -> list[Row]:
        return [r for r in self.rows if r.booked is None]

    def totals(self) -> dict[str, dict[str, Decimal]]:
        """Per currency: balance, booked, current, difference (only measured rows)."""
        out: dict[str, dict[str, Decimal]] = {}
        for r in self.rows:
            if r.booked is None:
                continue
            t = out.setdefault(r.currency, {"balance": Decimal(0), "booked": Decimal(0), "current": Decimal(0),
                                            "difference": Decimal(0)})
            t["balance"] += r.balance
            t["booked"] += r.booked
            t["current"] += r.current
            t["difference"] += r.difference
        return dict(sorted(out.items()))

    @property
    def difference(self) -> Decimal:
        return sum((t["difference"] for t in self.totals().values()), Decimal(0))


def key(day: datetime.date) -> str:
    return f"revaluation:{day.isoformat()}"


# The foreign-currency receivable of every customer up to a day: balance and booked base. One query
# over the journal's receivable lines. The day's own revaluation is left out, so once posted the page
# still shows what it posted (earlier ones are reversed before the day and net to nothing).
_BALANCES_SQL = """
SELECT l.customer_id, c.name, l.currency, sum(l.amount), sum(l.base_amount), count(*) - count(l.base_amount)
FROM accounts_journalline l JOIN accounts_customer c ON c.id = l.customer_id
WHERE l.organization_id = %s AND l.account_id = %s AND l.effective_date <= %s AND l.currency <> %s
  AND l.entry_id NOT IN (SELECT id FROM accounts_journalentry WHERE organization_id = %s AND idempotency_key = %s)
GROUP BY l.customer_id, c.name, l.currency
HAVING sum(l.amount) <> 0 OR sum(l.base_amount) <> 0
ORDER BY l.currency, c.name, l.customer_id
"""


def measure(org, day: datetime.date) -> Measure:
    """The foreign-currency balances open on `day`, booked and at the day's rates; fx.MissingRate (as
    RevaluationError) names the first currency without a rate of that day."""
    ar = system_account(org, "ar")
    base = org.base_currency
    with connection.cursor() as cursor:
        cursor.execute(_BALANCES_SQL, [org.pk, ar.pk, day, base, org.pk, key(day)])
        found = cursor.fetchall()
    documents: dict[tuple[int, str], list[Document]] = {}
    for document in (DOCUMENTS(org, day) if DOCUMENTS is not None else []):
        documents.setdefault((document.customer_id, document.currency), []).append(document)
    listed = {(customer_id, currency) for customer_id, _name, currency, *_rest in found}
    quiet = {customer_id for customer_id, currency in documents if (customer_id, currency) not in listed}
    if quiet:  # documents open, the receivable at zero in both: the documents' differences still count
        names = dict(Customer.objects.filter(pk__in=quiet).values_list("pk", "name"))
        found += [(customer_id, names[customer_id], currency, Decimal(0), Decimal(0), 0)
                  for customer_id, currency in documents if (customer_id, currency) not in listed]
        found.sort(key=lambda r: (r[2], r[1], r[0]))
    rates: dict[str, Decimal] = {}
    rows = []
    for customer_id, name, currency, balance, booked, missing in found:
        if currency not in rates:
            try:
                rates[currency] = fx.rate_on(org, currency, day)
            except fx.MissingRate as e:
                raise RevaluationError(e.message.replace("Nothing was posted.", "Nothing was revalued.")) from e
        rate = rates[currency]
        if missing:
            rows.append(Row(customer_id, name, currency, balance, None, rate, round_money(balance * rate, base)))
            continue
        parts = _document_rows(balance, booked, rate, base, documents.get((customer_id, currency), []))
        rows.append(Row(customer_id, name, currency, balance, booked, rate,
                        sum((p.current for p in parts), Decimal(0)), parts))
    entry = JournalEntry.objects.filter(organization=org, idempotency_key=key(day)).first()
    reversal = JournalEntry.objects.filter(reverses=entry).first() if entry is not None else None
    return Measure(day, base, rows, rates, entry, reversal)


@transaction.atomic
def post(org, day: datetime.date, actor=None) -> tuple[JournalEntry, JournalEntry]:
    """Post the revaluation of `day` and its reversal on the next day; refused (nothing posted) when it
    was already posted for that day, when a rate is missing, or when there is nothing to revalue."""
    if JournalEntry.objects.filter(organization=org, idempotency_key=key(day)).exists():
        raise RevaluationError(f"The revaluation of {day.isoformat()} was already posted; it is reversed on "
                               f"{(day + datetime.timedelta(days=1)).isoformat()} and cannot be posted twice.")
    found = measure(org, day)
    moved = [r for r in found.rows if r.booked is not None and r.difference]
    if not moved:
        raise RevaluationError(f"Nothing to revalue on {day.isoformat()}: every foreign-currency balance is "
                               "already carried at that day's rates.")
    ar = system_account(org, "ar")
    customers = Customer.objects.in_bulk([r.customer_id for r in moved])
    archived = sorted({customers[r.customer_id].name for r in moved if customers[r.customer_id].is_archived})
    if archived:
        raise RevaluationError(f"{', '.join(archived)} is archived but still has a foreign-currency balance on "
                               f"{day.isoformat()}; restore the customer first. Nothing was posted.")
    lines = [Line(ar, Decimal(0), customers[r.customer_id], r.currency, base_amount=r.difference) for r in moved]
    for currency, totals in found.totals().items():
        if totals["difference"]:
            account = unrealized_fx_account(org, gain=totals["difference"] > 0)
            lines.append(Line(account, Decimal(0), None, currency, base_amount=-totals["difference"]))
    entry = ledger.post(org, lines, effective_date=day, idempotency_key=key(day), actor=actor,
                        memo=f"Unrealized exchange differences at {day.isoformat()}",
                        source=("accounts.revaluation", None), source_label=day.isoformat())
    RevaluationLine.objects.bulk_create([
        RevaluationLine(organization=org, entry=entry, customer_id=r.customer_id, currency=r.currency, kind=d.kind,
                        document_id=d.document_id, number=d.number[:100], doc_date=d.doc_date, amount=d.amount,
                        booked=d.booked, rate=d.rate, current=d.current, difference=d.difference)
        for r in found.rows if r.booked is not None for d in r.documents])
    reversal = ledger.reverse(entry, reason=f"Automatic reversal of the revaluation at {day.isoformat()}",
                              actor=actor, effective_date=day + datetime.timedelta(days=1),
                              idempotency_key=f"{key(day)}:reversal")
    return entry, reversal


def breakdown(entry: JournalEntry) -> list[RevaluationLine]:
    """The per-document rows stored with a posted revaluation entry."""
    return list(RevaluationLine.objects.filter(organization_id=entry.organization_id, entry=entry)
                .select_related("customer"))
