"""Item spans derived from the rows (what the triggers of migration 0002 keep up to date).

`derived_spans(org)` recomputes them from scratch; tests compare it with the maintained table,
and `rebuild(org)` replaces an organization's spans (after a bulk load that bypassed triggers).
"""

from django.db import connection

DERIVED = """
SELECT kind, item_id, min(day), max(day) FROM (
    SELECT 'i' AS kind, i.id AS item_id, i.issue_date AS day
        FROM invoicing_invoice i WHERE i.organization_id = %(org)s AND i.status <> 'draft'
    UNION ALL SELECT 'i', i.id, v.effective_date
        FROM invoicing_invoice i JOIN accounts_journalentry v ON v.id = i.void_entry_id
        WHERE i.organization_id = %(org)s
    UNION ALL SELECT 'i', invoice_id, effective_date FROM invoicing_writeoff WHERE organization_id = %(org)s
    UNION ALL SELECT 'i', invoice_id, effective_date FROM payments_allocation WHERE organization_id = %(org)s
    UNION ALL SELECT 'p', payment_id, effective_date FROM payments_allocation
        WHERE organization_id = %(org)s AND payment_id IS NOT NULL
    UNION ALL SELECT 'c', credit_note_id, effective_date FROM payments_allocation
        WHERE organization_id = %(org)s AND credit_note_id IS NOT NULL
    UNION ALL SELECT 'p', id, received_date FROM payments_payment WHERE organization_id = %(org)s
    UNION ALL SELECT 'p', p.id, r.effective_date
        FROM payments_payment p JOIN accounts_journalentry r ON r.id = p.reversal_entry_id
        WHERE p.organization_id = %(org)s
    UNION ALL SELECT 'p', payment_id, refund_date FROM payments_refund WHERE organization_id = %(org)s
    UNION ALL SELECT 'c', id, issue_date FROM invoicing_creditnote WHERE organization_id = %(org)s
) AS days
GROUP BY kind, item_id
"""


def derived_spans(org) -> dict[tuple[str, int], tuple]:
    with connection.cursor() as cursor:
        cursor.execute(DERIVED, {"org": org.pk})
        return {(kind, item): (first, last) for kind, item, first, last in cursor.fetchall()}


def stored_spans(org) -> dict[tuple[str, int], tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, item_id, first_day, last_day FROM reports_itemspan WHERE organization_id = %s",
                       [org.pk])
        return {(kind, item): (first, last) for kind, item, first, last in cursor.fetchall()}


def rebuild(org) -> int:
    """Replace the organization's spans with the derived ones. Returns the number of rows."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reports_itemspan WHERE organization_id = %s", [org.pk])
        sql = "INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day) " \
              "SELECT %(org)s, d.* FROM (" + DERIVED + ") AS d"  # noqa: S608 - constants only
        cursor.execute(sql, {"org": org.pk})
        return cursor.rowcount
