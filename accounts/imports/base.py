"""What an importer declares (its fields) and implements (check a record, write records)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from accounts import period


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str = "text"  # text | code | date | number | int
    required: bool = False
    help: str = ""
    max_length: int | None = None
    aliases: tuple = ()  # header names (lower case) that map to this field without asking


class OpenPeriod:
    """The organization's open period (accounts.period), read once per run. A commit reads it
    after the engine has locked the ledger head row, the lock that closing the books takes, so
    the period cannot close between these checks and the writes."""

    def __init__(self, org, today: date | None = None):
        self.lock_date, self.books_start = period.state(org)
        # The oldest day a row may have: the ledger's window, or the books start when it is
        # earlier (history of any age; the import's `books_start` option moves it first).
        self.earliest = period.oldest_day(today or org.today(), self.books_start)

    def too_old(self, day: date) -> str:
        """Why `day` is older than anything the ledger takes, or ""."""
        if day >= self.earliest:
            return ""
        return (f"The date is before {self.earliest}, the oldest date the ledger accepts (ten years back, or the "
                f"books start when it is earlier): give the import an earlier books start to bring older history.")

    def refuse(self, day: date) -> str:
        """Why nothing dated `day` can be imported, or ""."""
        message = period.closed_message(self.lock_date, self.books_start, day)
        if message and (self.lock_date is None or day > self.lock_date):
            message += " An owner can move the books start earlier (Settings → Period lock) to import older history."
        return message


@dataclass
class RowError:
    row: int | None  # the row number in the file (the header is row 1); None for a whole column
    column: str
    value: str
    message: str

    def as_dict(self):
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


@dataclass
class Row:
    number: int
    values: dict  # field name → parsed value (None when empty)
    raw: dict  # field name → (column name, cell text)

    def error(self, name: str, message: str) -> RowError:
        column, value = self.raw.get(name, ("", ""))
        return RowError(self.number, column, value, message)


@dataclass
class Record:
    """One document to import (a customer, an invoice with its lines, a payment)."""
    key: str  # the source's identifier: what makes a re-import a no-op
    rows: list  # the Row numbers it came from
    data: object  # the importer's own payload
    exists: bool = False  # already in the organization: reported, not written again
    currency: str = ""
    amount: Decimal | None = None
    day: date | None = None
    customer_created: bool = False


class Importer:
    kind = ""
    label = ""
    fields: tuple = ()
    group_by: str | None = None  # rows sharing this field's value form one record (invoice lines)

    def begin(self, org, actor):
        """State for one run: lookups (existing customers, numbers), what the file has used so far."""
        return {}

    def check(self, state, rows: list[Row]) -> tuple[Record | None, list[RowError]]:
        raise NotImplementedError

    def write(self, state, records: list[Record], progress) -> dict:
        """Write the new records (inside the run's transaction); progress(n) after each n written.
        Return counts for the report."""
        raise NotImplementedError

    @staticmethod
    def export_rows(org):
        """The organization's records in this import's layout (header first): export, then import
        into another organization, gives the same books. None: no export."""
        return None

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


@dataclass
class Report:
    rows: int = 0
    records: int = 0
    new: int = 0
    existing: int = 0
    existing_keys: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # RowError, capped
    error_count: int = 0
    totals: dict = field(default_factory=dict)  # currency → Decimal, new records only
    first_day: date | None = None
    last_day: date | None = None
    customers_created: int = 0
    customers_matched: int = 0
    formats: dict = field(default_factory=dict)  # column → the decided date format / decimal separator
    written: dict = field(default_factory=dict)
    committed: bool = False

    MAX_ERRORS = 1000
    MAX_EXISTING = 50

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append(error)

    def add_record(self, record: Record) -> None:
        self.records += 1
        if record.exists:
            self.existing += 1
            if len(self.existing_keys) < self.MAX_EXISTING:
                self.existing_keys.append(record.key)
            return
        self.new += 1
        if record.amount is not None:
            self.totals[record.currency] = self.totals.get(record.currency, Decimal(0)) + record.amount
        if record.day is not None:
            self.first_day = min(self.first_day or record.day, record.day)
            self.last_day = max(self.last_day or record.day, record.day)
        if record.customer_created:
            self.customers_created += 1

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def as_dict(self) -> dict:
        return {
            "rows": self.rows, "records": self.records, "new": self.new, "existing": self.existing,
            "existing_keys": self.existing_keys, "errors": [e.as_dict() for e in self.errors],
            "error_count": self.error_count, "totals": {c: str(v) for c, v in sorted(self.totals.items())},
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "customers_created": self.customers_created, "customers_matched": self.customers_matched,
            "formats": self.formats, "written": self.written, "committed": self.committed,
        }
