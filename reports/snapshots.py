"""Period-end aging snapshots (issue 23 item 2): the aging as of any past day costs one period's movements.

`take(org, day)` writes what was open at the end of `day` by the one as-of definition (reports.asof's fast
evaluation), per customer, currency, due date and invoice date, with per-customer totals and the
organization's rows beside them. Only for a day on or before the lock date: nothing dated then can
change any more (invariant 11; the database refuses it), so a snapshot never goes stale. The ledger head
is read FOR SHARE while writing, so the period cannot be reopened under the writer; reopening afterwards
deletes the snapshots after the new lock date (trigger, migration 0022), and `latest` also never returns
one after today's lock date.

`take_due(org)` writes the missing month-ends up to the lock date (the nightly task and the moment a
period is closed). The aging (`reports.aging`, source "snapshot") reads the latest snapshot S <= D and
adds, for every invoice with something dated in (S, D] (issued, voided, allocated, written off), its
open amount as of D minus its open amount as of S, both by the one definition; unapplied payments and
credit notes come from the as-of definition for D directly (a few per cent of the items).
"""

from datetime import date, timedelta

from django.db import connection, transaction

from reports.asof import FAST_ITEMS, report_cursor

MONTHS_KEPT = 36  # month-ends written back from the lock date

OPEN_ROWS = f"""
INSERT INTO reports_snapshotopen (organization_id, day, customer_id, currency, due_date, issue_date, amount, count)
WITH {FAST_ITEMS}
SELECT %(org)s, %(d)s, it.customer_id, it.currency, it.due_date, it.doc_date, sum(it.amount), count(*)
FROM items it WHERE it.kind = 'i' AND it.amount <> 0
GROUP BY it.customer_id, it.currency, it.due_date, it.doc_date
"""  # noqa: S608 - built from constants only
TOTAL_ROWS = """
INSERT INTO reports_snapshottotal (organization_id, day, customer_id, currency, amount, count)
SELECT organization_id, day, customer_id, currency, sum(amount), sum(count) FROM reports_snapshotopen
WHERE organization_id = %(org)s AND day = %(d)s GROUP BY organization_id, day, customer_id, currency
"""
DATE_ROWS = """
INSERT INTO reports_snapshotdates (organization_id, day, currency, due_date, issue_date, amount, count)
SELECT organization_id, day, currency, due_date, issue_date, sum(amount), sum(count) FROM reports_snapshotopen
WHERE organization_id = %(org)s AND day = %(d)s GROUP BY organization_id, day, currency, due_date, issue_date
"""


class SnapshotRefused(ValueError):
    """The day is not in a closed period (or not a date): nothing was written."""


def lock_date(org) -> date | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT lock_date FROM accounts_ledgerhead WHERE organization_id = %s", [org.pk])
        row = cursor.fetchone()
    return row[0] if row else None


def take(org, day: date) -> bool:
    """Write the snapshot of the end of `day` (True), or nothing if it exists (False).
    SnapshotRefused when the day is after the lock date: what is dated then could still change."""
    if not isinstance(day, date):
        raise SnapshotRefused("a snapshot is taken of a day")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT lock_date FROM accounts_ledgerhead WHERE organization_id = %s FOR SHARE", [org.pk])
        row = cursor.fetchone()
        locked = row[0] if row else None
        if locked is None or day > locked:
            raise SnapshotRefused(f"{day.isoformat()} is not in a closed period (books closed up to "
                                  f"{locked.isoformat() if locked else 'no day'}): what is dated then can still change")
        cursor.execute("SELECT 1 FROM reports_agingsnapshot WHERE organization_id = %s AND day = %s", [org.pk, day])
        if cursor.fetchone():
            return False
        params = {"org": org.pk, "d": day}
        with report_cursor() as big:
            big.execute(OPEN_ROWS, params)
        cursor.execute(TOTAL_ROWS, params)
        cursor.execute(DATE_ROWS, params)
        cursor.execute("INSERT INTO reports_agingsnapshot (organization_id, day, taken_at) VALUES (%s, %s, now())",
                       [org.pk, day])
    return True


def month_ends(last: date, count: int) -> list[date]:
    """The last `count` month-ends on or before `last`, oldest first."""
    ends = []
    end = last if (last + timedelta(days=1)).day == 1 else last.replace(day=1) - timedelta(days=1)
    while len(ends) < count:
        ends.append(end)
        end = end.replace(day=1) - timedelta(days=1)
    return ends[::-1]


def take_due(org, months: int = MONTHS_KEPT) -> list[date]:
    """Write every missing month-end snapshot up to the lock date; the days written."""
    locked = lock_date(org)
    if locked is None:
        return []
    return [day for day in month_ends(locked, months) if take(org, day)]


def latest(org, day: date) -> date | None:
    """The day of the latest snapshot on or before `day` (and on or before today's lock date), or None."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(s.day) FROM reports_agingsnapshot s JOIN accounts_ledgerhead h "
                       "ON h.organization_id = s.organization_id AND s.day <= h.lock_date "
                       "WHERE s.organization_id = %s AND s.day <= %s", [org.pk, day])
        return cursor.fetchone()[0]
