"""The open foreign-currency documents of a day with the base value the ledger carries each at: what
accounts.revaluation breaks a customer's revaluation down by (plugged in at
`accounts.revaluation.DOCUMENTS` from ReportsConfig.ready()).

What is open on the day is reports.asof's one definition (`items_cte`). What the ledger carries a
document at is read from what was booked for it, never converted again:

* an invoice: its issue entry's receivable base, plus its write-offs' receivable base, minus the
  `invoice_base` of its allocation rows (payments.allocation), all on or before the day;
* a payment: its entry's receivable base (a credit), plus the `source_base` of its allocation rows and
  its refunds' receivable base;
* a credit note: its entry's receivable base, plus the `source_base` of its allocation rows.

The realized difference posted at each allocation is the source's part minus the invoice's part, so
over a customer these add up to the receivable's base balance exactly (the property in
tests/fx/test_revaluation.py checks that nothing is left over). A document with a part booked before
base amounts existed has no carried value (None).
"""

from __future__ import annotations

from datetime import date

from accounts.revaluation import Document
from reports.asof import items_cte, report_cursor

# The receivable base of the journal entries chosen by `where` (NULL when a line has none).
_AR_BASE = """(SELECT CASE WHEN count(*) = count(l.base_amount) THEN coalesce(sum(l.base_amount), 0) END
    FROM {source} JOIN accounts_journalline l ON l.entry_id = {entry} AND l.customer_id IS NOT NULL
     AND l.organization_id = %(org)s
    WHERE {where})"""
_ALLOCATED = """(SELECT CASE WHEN count(*) = count(a.{column}) THEN coalesce(sum(a.{column}), 0) END
    FROM payments_allocation a WHERE a.{key} = it.item_id AND a.effective_date <= %(d)s)"""

INVOICE_BOOKED = (
    _AR_BASE.format(source="(SELECT 1) AS one", entry="i.issue_entry_id", where="true")
    + " + " + _AR_BASE.format(source="invoicing_writeoff w", entry="w.entry_id",
                              where="w.invoice_id = it.item_id AND w.effective_date <= %(d)s")
    + " - " + _ALLOCATED.format(column="invoice_base", key="invoice_id")
)
PAYMENT_BOOKED = (
    _AR_BASE.format(source="(SELECT 1) AS one", entry="p.entry_id", where="true")
    + " + " + _ALLOCATED.format(column="source_base", key="payment_id")
    + " + " + _AR_BASE.format(source="payments_refund f", entry="f.entry_id",
                              where="f.payment_id = it.item_id AND f.refund_date <= %(d)s")
)
CREDIT_BOOKED = (
    _AR_BASE.format(source="(SELECT 1) AS one", entry="c.entry_id", where="true")
    + " + " + _ALLOCATED.format(column="source_base", key="credit_note_id")
)

DOCUMENTS_SQL = f"""
SELECT it.kind, it.item_id, it.customer_id, it.currency,
       coalesce(i.number, c.number, nullif(p.reference, ''), '#' || it.item_id::text), it.doc_date,
       CASE WHEN it.kind = 'i' THEN it.amount ELSE -it.amount END,
       CASE it.kind WHEN 'i' THEN {INVOICE_BOOKED} WHEN 'p' THEN {PAYMENT_BOOKED} ELSE {CREDIT_BOOKED} END
FROM items it
LEFT JOIN invoicing_invoice i ON it.kind = 'i' AND i.id = it.item_id
LEFT JOIN invoicing_creditnote c ON it.kind = 'c' AND c.id = it.item_id
LEFT JOIN payments_payment p ON it.kind = 'p' AND p.id = it.item_id
WHERE it.amount <> 0 AND it.currency <> %(base)s
ORDER BY it.currency, it.customer_id, it.doc_date, it.kind, it.item_id
"""  # noqa: S608 - built from constants only


def open_documents(org, day: date) -> list[Document]:
    """Every foreign-currency document open (invoices) or unapplied (payments, credit notes) at the end
    of `day`, signed as on the receivable, with the base value the ledger carries it at."""
    cte, params = items_cte(org.pk, day)
    params["base"] = org.base_currency
    with report_cursor() as cursor:
        cursor.execute("WITH " + cte + DOCUMENTS_SQL, params)
        return [Document(*row) for row in cursor.fetchall()]
