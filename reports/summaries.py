"""The summary tables derived from scratch (the triggers of migrations 0005, 0010, 0017 and 0020 keep them).

Tests compare `derived_*` with the maintained rows after random histories; `rebuild(org)`
replaces an organization's rows (for a load that bypassed the triggers).
"""

from django.db import connection

from invoicing import invoice_sql

OPEN_BY_DUE = f"""
SELECT currency, due_date, sum(amount_due), count(*) FROM invoicing_invoice
WHERE organization_id = %(org)s AND {invoice_sql.is_open("")} GROUP BY currency, due_date
"""  # noqa: S608 - built from constants only
CUSTOMER_OPEN = f"""
SELECT customer_id, currency, due_date, issue_date, sum(amount_due), count(*) FROM invoicing_invoice
WHERE organization_id = %(org)s AND {invoice_sql.is_open("")} GROUP BY customer_id, currency, due_date, issue_date
"""  # noqa: S608 - built from constants only
DAILY_FLOW = """
SELECT currency, day, sum(invoiced), sum(collected) FROM (
    SELECT currency, issue_date AS day, total AS invoiced, 0 AS collected
        FROM invoicing_invoice WHERE organization_id = %(org)s AND status = 'issued'
    UNION ALL SELECT currency, received_date, 0, amount
        FROM payments_payment WHERE organization_id = %(org)s AND reversal_entry_id IS NULL
) AS flows GROUP BY currency, day
"""


CUSTOMER_TOTAL = f"""
SELECT customer_id, currency, sum(amount_due), count(*) FROM invoicing_invoice
WHERE organization_id = %(org)s AND {invoice_sql.is_open("")} GROUP BY customer_id, currency
"""  # noqa: S608 - built from constants only


PAID = """
SELECT i.id, i.customer_id, i.currency, i.issue_date, i.due_date, coalesce(s.last_day, i.issue_date), i.total
FROM invoicing_invoice i LEFT JOIN reports_itemspan s ON s.kind = 'i' AND s.item_id = i.id
WHERE i.organization_id = %(org)s AND i.status = 'issued' AND i.amount_due = 0 AND i.amount_paid > 0
  AND i.amount_written_off = 0
"""


def derived_paid_invoices(org) -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(PAID, {"org": org.pk})
        return set(cursor.fetchall())


def stored_paid_invoices(org) -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT invoice_id, customer_id, currency, issue_date, due_date, paid_on, total "
            "FROM reports_paidinvoice WHERE organization_id = %s",
            [org.pk],
        )
        return set(cursor.fetchall())


def _rows(sql, org, drop_zero):
    with connection.cursor() as cursor:
        cursor.execute(sql, {"org": org.pk})
        return {(cur, day): (a, b) for cur, day, a, b in cursor.fetchall() if not (drop_zero and not a and not b)}


def derived_open_by_due(org):
    return _rows(OPEN_BY_DUE, org, False)


def derived_daily_flow(org):
    return _rows(DAILY_FLOW, org, True)


def stored_open_by_due(org):
    return _rows(
        "SELECT currency, due_date, amount, count FROM reports_openbyduedate "
        "WHERE organization_id = %(org)s AND count <> 0",
        org,
        False,
    )


def stored_daily_flow(org):
    return _rows(
        "SELECT currency, day, invoiced, collected FROM reports_dailyflow WHERE organization_id = %(org)s", org, True
    )


def derived_customer_open(org) -> dict[tuple, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(CUSTOMER_OPEN, {"org": org.pk})
        return {tuple(r[:4]): tuple(r[4:]) for r in cursor.fetchall()}


def stored_customer_open(org) -> dict[tuple, tuple]:
    """Every maintained row, zero ones included (the triggers delete a row whose count reaches 0,
    so a zero row here is a bug the tests catch)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id, currency, due_date, issue_date, amount, count FROM reports_customeropen "
            "WHERE organization_id = %s",
            [org.pk],
        )
        return {tuple(r[:4]): tuple(r[4:]) for r in cursor.fetchall()}


def derived_customer_total(org) -> dict[tuple, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(CUSTOMER_TOTAL, {"org": org.pk})
        return {tuple(r[:2]): tuple(r[2:]) for r in cursor.fetchall()}


def stored_customer_total(org) -> dict[tuple, tuple]:
    """Every maintained row, zero ones included (a zero row is a bug the tests catch)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id, currency, amount, count FROM reports_customertotal WHERE organization_id = %s",
            [org.pk],
        )
        return {tuple(r[:2]): tuple(r[2:]) for r in cursor.fetchall()}


def rebuild(org) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reports_paidinvoice WHERE organization_id = %s", [org.pk])
        cursor.execute(
            "INSERT INTO reports_paidinvoice (organization_id, invoice_id, customer_id, currency, "  # noqa: S608
            "issue_date, due_date, paid_on, total) SELECT %(org)s, d.* FROM (" + PAID + ") AS d",
            {"org": org.pk},
        )
        cursor.execute("DELETE FROM reports_customeropen WHERE organization_id = %s", [org.pk])
        cursor.execute(
            "INSERT INTO reports_customeropen (organization_id, customer_id, currency, due_date, "  # noqa: S608
            "issue_date, amount, count) SELECT %(org)s, d.* FROM (" + CUSTOMER_OPEN + ") AS d",
            {"org": org.pk},
        )
        cursor.execute("DELETE FROM reports_customertotal WHERE organization_id = %s", [org.pk])
        cursor.execute(
            "INSERT INTO reports_customertotal (organization_id, customer_id, currency, amount, count) "  # noqa: S608
            "SELECT %(org)s, d.* FROM (" + CUSTOMER_TOTAL + ") AS d",
            {"org": org.pk},
        )
        cursor.execute("DELETE FROM reports_openbyduedate WHERE organization_id = %s", [org.pk])
        cursor.execute("DELETE FROM reports_dailyflow WHERE organization_id = %s", [org.pk])
        cursor.execute(
            "INSERT INTO reports_openbyduedate (organization_id, currency, due_date, amount, count) "  # noqa: S608
            "SELECT %(org)s, d.* FROM (" + OPEN_BY_DUE + ") AS d",
            {"org": org.pk},
        )
        cursor.execute(
            "INSERT INTO reports_dailyflow (organization_id, currency, day, invoiced, collected) "  # noqa: S608
            "SELECT %(org)s, d.* FROM (" + DAILY_FLOW + ") AS d",
            {"org": org.pk},
        )
