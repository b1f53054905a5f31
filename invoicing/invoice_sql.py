"""The invoice rules as SQL fragments, for the raw queries of reports, reminders and payments.

Each is the SQL twin of a rule in invoicing/models.py (OPEN_Q, overdue_q, disputed_q, CAN_VOID_Q,
CAN_WRITE_OFF_Q and the Invoice properties of the same names); tests/invoicing/test_rule_homes.py
checks, on generated invoices, that both select the same rows. A fragment is a boolean
expression over the invoice table under alias `a` ("" for a query without an alias); a day is
given as SQL (a bound parameter such as "%(today)s" or an expression) and is always the
organization's date: `org_today(...)` computes it in SQL as `Organization.today()` does in Python.

Compose them into constant query text; every value stays a bound parameter.
"""


def org_today(now: str = "%(now)s", tz: str = "%(tz)s") -> str:
    """The organization's local date at the instant `now` (timestamptz) in time zone `tz` (IANA)."""
    return f"(({now})::timestamptz AT TIME ZONE ({tz}))::date"


def _p(a: str) -> str:
    return f"{a}." if a else ""


def is_open(a: str = "i") -> str:
    """Issued and something is still due."""
    return f"({_p(a)}status = 'issued' AND {_p(a)}amount_due > 0)"


def is_overdue(a: str = "i", today: str = "%(today)s") -> str:
    """Open and the due date is before `today`."""
    return f"({is_open(a)} AND {_p(a)}due_date < ({today})::date)"


def is_disputed(a: str = "i", day: str = "%(today)s") -> str:
    """Disputed on `day`: a dispute is recorded, its end date, if any, is not before `day`, and it
    covers the whole amount due."""
    return (f"({_p(a)}disputed_at IS NOT NULL"
            f" AND ({_p(a)}dispute_until IS NULL OR {_p(a)}dispute_until >= ({day})::date)"
            f" AND ({_p(a)}disputed_amount IS NULL OR {_p(a)}disputed_amount >= {_p(a)}amount_due))")


def disputed_part_as_of(a: str, open_amount: str, day: str = "%(d)s", tz: str = "%(tz)s") -> str:
    """How much of the invoice `a` was in dispute at the end of `day` (a date, in time zone `tz`), as
    `Invoice.disputed_part_on` says for today, from the hold's history (DisputeHoldChange): its last
    change made on or before that day; held, and its end date, if any, not before the day: the
    disputed part (all when no part), at most `open_amount` (the invoice's open amount as of the day),
    else 0. Read as of today it is the hold columns' figure (tests/reports/test_holds_asof.py)."""
    return (f"coalesce((SELECT CASE WHEN h.held AND (h.until IS NULL OR h.until >= ({day})::date)"  # noqa: S608 - SQL text from code
            f" THEN greatest(least({open_amount}, coalesce(h.amount, {open_amount})), 0) ELSE 0 END"
            f" FROM invoicing_disputeholdchange h WHERE h.invoice_id = {a}.id"
            f" AND h.organization_id = {a}.organization_id"
            f" AND (h.at AT TIME ZONE ({tz}))::date <= ({day})::date"
            f" ORDER BY h.at DESC, h.id DESC LIMIT 1), 0)")


def can_void(a: str = "i") -> str:
    """Issued, and no payment, credit or write-off is applied to it."""
    return (f"({_p(a)}status = 'issued' AND {_p(a)}amount_paid = 0 AND {_p(a)}amount_credited = 0"
            f" AND {_p(a)}amount_written_off = 0)")


def can_write_off(a: str = "i") -> str:
    """An open invoice."""
    return is_open(a)
