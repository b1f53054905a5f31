"""The sub-ledger, proved by verify_ledger (DESIGN.md invariants 3 and 5), from the rows that
move money between documents rather than from the maintained figures:

- each issued invoice: paid = Σ its payment allocations, credited = Σ its credit-note
  allocations, written off = Σ its write-offs, due = total − those three (0 once void);
- each payment: allocated = Σ its allocations, refunded = Σ its refunds; each credit note:
  applied = Σ its allocations;
- each customer and currency: Σ open amounts due − unapplied payments − unapplied credit
  notes + its AR lines that belong to no document (manual entries, opening balances) = its AR
  balance. (Σ customers = the AR control account is checked with the journal.)

The allocation rows themselves are sealed one by one (payments.seals), so a deleted or edited
allocation is caught by the seal check even when these sums were made to agree with it.
Registered with accounts.ledger_verify_seals.SUBLEDGER_CHECKS by payments.seals.
"""

from decimal import Decimal

# The documents an incremental check looks at: those something happened to since the last clean
# check. Every change to a document's maintained figures comes with a sealed row or a journal entry
# in the same transaction (an issue, payment, credit note, allocation, write-off or refund is sealed;
# a void or reversal is posted for its document), and both are numbered under the ledger head's
# lock: the seals after the verified seal and the entries after the verified entry name them all.
# The full check (nightly) reads every document.
_TOUCHED = """
new_seals AS (
    SELECT kind, object_id FROM accounts_sealrecord
    WHERE organization_id = %(org)s AND seq > %(seal_after)s
      AND kind IN ('invoice', 'payment', 'credit_note', 'allocation', 'write_off', 'refund')
), new_sources AS (
    SELECT source_type, source_id FROM accounts_journalentry
    WHERE organization_id = %(org)s AND id > %(after)s
      AND source_type IN ('invoicing.invoice', 'payments.payment', 'payments.refund')
), new_allocations AS (
    SELECT a.invoice_id, a.payment_id, a.credit_note_id FROM new_seals s
    JOIN payments_allocation a ON a.id = s.object_id AND a.organization_id = %(org)s WHERE s.kind = 'allocation'
), touched_invoices AS (
    SELECT object_id AS id FROM new_seals WHERE kind = 'invoice'
    UNION SELECT invoice_id FROM new_allocations
    UNION SELECT w.invoice_id FROM new_seals s
          JOIN invoicing_writeoff w ON w.id = s.object_id AND w.organization_id = %(org)s WHERE s.kind = 'write_off'
    UNION SELECT c.invoice_id FROM new_seals s
          JOIN invoicing_creditnote c ON c.id = s.object_id AND c.organization_id = %(org)s
          WHERE s.kind = 'credit_note' AND c.invoice_id IS NOT NULL
    UNION SELECT source_id FROM new_sources WHERE source_type = 'invoicing.invoice'
), touched_payments AS (
    SELECT object_id AS id FROM new_seals WHERE kind = 'payment'
    UNION SELECT payment_id FROM new_allocations WHERE payment_id IS NOT NULL
    UNION SELECT r.payment_id FROM payments_refund r
          WHERE r.organization_id = %(org)s AND (r.id IN (SELECT object_id FROM new_seals WHERE kind = 'refund')
                OR r.id IN (SELECT source_id FROM new_sources WHERE source_type = 'payments.refund'))
    UNION SELECT source_id FROM new_sources WHERE source_type = 'payments.payment'
), touched_notes AS (
    SELECT object_id AS id FROM new_seals WHERE kind = 'credit_note'
    UNION SELECT credit_note_id FROM new_allocations WHERE credit_note_id IS NOT NULL
)"""


def _scoped(sql: str, incremental: bool) -> str:
    """The full check's query, or the incremental one's: the touched documents' CTEs first and
    each {name} filter applied (only to the touched documents' rows, read through their keys)."""
    filters = {
        "with": ("WITH " + _TOUCHED + ",") if incremental else "WITH",
        "invoices": "AND invoice_id IN (SELECT id FROM touched_invoices)" if incremental else "",
        "invoice": "AND i.id IN (SELECT id FROM touched_invoices)" if incremental else "",
        "payments": "AND payment_id IN (SELECT id FROM touched_payments)" if incremental else "",
        "payment": "AND p.id IN (SELECT id FROM touched_payments)" if incremental else "",
        "notes": "AND credit_note_id IN (SELECT id FROM touched_notes)" if incremental else "",
        "note": "AND c.id IN (SELECT id FROM touched_notes)" if incremental else "",
    }
    return sql.format(**filters)


_INVOICES_SQL = """
{with} a AS (
    SELECT invoice_id, sum(amount) FILTER (WHERE payment_id IS NOT NULL) AS paid,
           sum(amount) FILTER (WHERE credit_note_id IS NOT NULL) AS credited
    FROM payments_allocation WHERE organization_id = %(org)s {invoices} GROUP BY invoice_id
), w AS (
    SELECT invoice_id, sum(amount) AS written_off FROM invoicing_writeoff
    WHERE organization_id = %(org)s {invoices} GROUP BY invoice_id
)
SELECT i.number, i.customer_id, i.status, i.total, i.amount_paid, i.amount_credited, i.amount_written_off,
       i.amount_due, coalesce(a.paid, 0), coalesce(a.credited, 0), coalesce(w.written_off, 0)
FROM invoicing_invoice i LEFT JOIN a ON a.invoice_id = i.id LEFT JOIN w ON w.invoice_id = i.id
WHERE i.organization_id = %(org)s AND i.status <> 'draft' {invoice} AND (
    i.amount_paid <> coalesce(a.paid, 0) OR i.amount_credited <> coalesce(a.credited, 0)
    OR i.amount_written_off <> coalesce(w.written_off, 0)
    OR i.amount_due <> CASE WHEN i.status = 'void' THEN 0 ELSE
        i.total - coalesce(a.paid, 0) - coalesce(a.credited, 0) - coalesce(w.written_off, 0) END)
ORDER BY i.id
"""
_PAYMENTS_SQL = """
{with} a AS (
    SELECT payment_id, sum(amount) s FROM payments_allocation
    WHERE organization_id = %(org)s AND payment_id IS NOT NULL {payments} GROUP BY payment_id
), r AS (
    SELECT payment_id, sum(amount) s FROM payments_refund WHERE organization_id = %(org)s {payments} GROUP BY payment_id
)
SELECT p.id, p.reference, p.customer_id, p.amount_allocated, coalesce(a.s, 0), p.amount_refunded, coalesce(r.s, 0)
FROM payments_payment p LEFT JOIN a ON a.payment_id = p.id LEFT JOIN r ON r.payment_id = p.id
WHERE p.organization_id = %(org)s {payment}
  AND (p.amount_allocated <> coalesce(a.s, 0) OR p.amount_refunded <> coalesce(r.s, 0))
ORDER BY p.id
"""
_CREDIT_NOTES_SQL = """
{with} a AS (
    SELECT credit_note_id, sum(amount) s FROM payments_allocation
    WHERE organization_id = %(org)s AND credit_note_id IS NOT NULL {notes} GROUP BY credit_note_id
)
SELECT c.number, c.customer_id, c.amount_applied, coalesce(a.s, 0)
FROM invoicing_creditnote c LEFT JOIN a ON a.credit_note_id = c.id
WHERE c.organization_id = %(org)s {note} AND c.amount_applied <> coalesce(a.s, 0)
ORDER BY c.id
"""
# Per customer and currency, from the documents: open amounts due, unapplied payments and credit notes.
_ITEMS = """
    SELECT customer_id, currency, amount_due AS open, 0 AS unapplied, 0 AS other, 0 AS balance, 0 AS new
    FROM invoicing_invoice WHERE organization_id = %(org)s AND status = 'issued' AND amount_due <> 0 [customers]
    UNION ALL
    SELECT customer_id, currency, 0, amount - amount_allocated - amount_refunded, 0, 0, 0
    FROM payments_payment WHERE organization_id = %(org)s AND reversed_at IS NULL [customers]
    UNION ALL
    SELECT customer_id, currency, 0, total - amount_applied, 0, 0, 0
    FROM invoicing_creditnote WHERE organization_id = %(org)s [customers]
"""
_IN_TOUCHED_CUSTOMERS = "AND customer_id IN (SELECT customer_id FROM touched_customers)"
_TOTALS = """
SELECT customer_id, currency, sum(open), sum(unapplied), sum(other), sum(balance), sum(new) > 0 FROM items
GROUP BY customer_id, currency
"""
# The full check: `other` = AR lines of entries that no document refers to, from every AR line.
# Every customer's row is returned: a clean check's figures are kept for the incremental one.
_CUSTOMERS_SQL = """
WITH docs AS (
    SELECT issue_entry_id AS id FROM invoicing_invoice WHERE organization_id = %(org)s AND issue_entry_id IS NOT NULL
    UNION ALL SELECT void_entry_id FROM invoicing_invoice WHERE organization_id = %(org)s AND void_entry_id IS NOT NULL
    UNION ALL SELECT entry_id FROM invoicing_writeoff WHERE organization_id = %(org)s
    UNION ALL SELECT entry_id FROM invoicing_creditnote WHERE organization_id = %(org)s
    UNION ALL SELECT entry_id FROM payments_payment WHERE organization_id = %(org)s
    UNION ALL SELECT reversal_entry_id FROM payments_payment
              WHERE organization_id = %(org)s AND reversal_entry_id IS NOT NULL
    UNION ALL SELECT entry_id FROM payments_refund WHERE organization_id = %(org)s
), items AS (""" + _ITEMS.replace("[customers]", "") + """
    UNION ALL
    SELECT l.customer_id, l.currency, 0, 0, l.amount, 0, 0 FROM accounts_journalline l
    WHERE l.organization_id = %(org)s AND l.customer_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM docs WHERE docs.id = l.entry_id)
    UNION ALL
    SELECT customer_id, currency, 0, 0, 0, amount, 1 FROM accounts_customerbalance WHERE organization_id = %(org)s
)""" + _TOTALS + "ORDER BY customer_id, currency"  # noqa: S608 (constants only)

# The incremental check, over the customers with new AR lines or a touched document (_TOUCHED):
# `other` = what the last clean check vouched for (verified_outside_docs) + the new AR lines
# (entries after %(after)s) that no document refers to, each looked up by the documents' unique
# entry keys: no older line is read, and no other customer's documents. Only the customers with
# new lines and the ones that do not add up are returned.
_IN_A_DOCUMENT = " OR ".join(
    f"EXISTS (SELECT 1 FROM {table} d WHERE d.{column} = l.entry_id AND d.organization_id = l.organization_id)"  # noqa: S608 (constants only)
    for table, column in (("invoicing_invoice", "issue_entry_id"), ("invoicing_invoice", "void_entry_id"),
                          ("invoicing_writeoff", "entry_id"), ("invoicing_creditnote", "entry_id"),
                          ("payments_payment", "entry_id"), ("payments_payment", "reversal_entry_id"),
                          ("payments_refund", "entry_id")))
_CUSTOMERS_SINCE_SQL = """
WITH """ + _TOUCHED + """, touched_customers AS (
    SELECT customer_id FROM accounts_journalline
    WHERE organization_id = %(org)s AND entry_id > %(after)s AND customer_id IS NOT NULL
    UNION SELECT customer_id FROM invoicing_invoice
          WHERE organization_id = %(org)s AND id IN (SELECT id FROM touched_invoices)
    UNION SELECT customer_id FROM payments_payment
          WHERE organization_id = %(org)s AND id IN (SELECT id FROM touched_payments)
    UNION SELECT customer_id FROM invoicing_creditnote
          WHERE organization_id = %(org)s AND id IN (SELECT id FROM touched_notes)
), items AS (""" + _ITEMS.replace("[customers]", _IN_TOUCHED_CUSTOMERS) + """
    UNION ALL
    SELECT l.customer_id, l.currency, 0, 0, CASE WHEN """ + _IN_A_DOCUMENT + """ THEN 0 ELSE l.amount END, 0, 1
    FROM accounts_journalline l
    WHERE l.organization_id = %(org)s AND l.entry_id > %(after)s AND l.customer_id IS NOT NULL
    UNION ALL
    SELECT customer_id, currency, 0, 0, verified_outside_docs, amount, 0 FROM accounts_customerbalance
    WHERE organization_id = %(org)s """ + _IN_TOUCHED_CUSTOMERS + """
)""" + _TOTALS + """HAVING sum(new) > 0 OR sum(open) - sum(unapplied) + sum(other) <> sum(balance)
ORDER BY customer_id, currency"""  # noqa: S608 (constants only)

# Entries posted for a document that no longer exists (deleted past the triggers); in an
# incremental check, the entries after the verified point.
_ORPHAN_ENTRIES_SQL = """
SELECT e.seq, e.source_type, e.source_id, e.source_label FROM accounts_journalentry e
WHERE e.organization_id = %(org)s AND e.id > %(after)s AND (
    (e.source_type = 'invoicing.invoice'
     AND NOT EXISTS (SELECT 1 FROM invoicing_invoice d WHERE d.id = e.source_id))
    OR (e.source_type = 'payments.payment'
        AND NOT EXISTS (SELECT 1 FROM payments_payment d WHERE d.id = e.source_id))
    OR (e.source_type = 'payments.refund'
        AND NOT EXISTS (SELECT 1 FROM payments_refund d WHERE d.id = e.source_id)))
ORDER BY e.seq
"""


def check(cursor, org_id, result, names, since_entry=None, since_seal=0):
    """`since_entry`, `since_seal`: in an incremental check, the id of the entry and the number of
    the seal at the verified point; only the documents touched since are summed (_TOUCHED). A
    generator (accounts.ledger_verify_seals): sends its queries, yields, then reads the answers."""
    incremental = since_entry is not None
    params = {"org": org_id, "after": since_entry or 0, "seal_after": since_seal or 0}
    pg = cursor.connection
    invoices, payments, notes, orphans, customers = (pg.cursor() for _ in range(5))
    invoices.execute(_scoped(_INVOICES_SQL, incremental), params)
    payments.execute(_scoped(_PAYMENTS_SQL, incremental), params)
    notes.execute(_scoped(_CREDIT_NOTES_SQL, incremental), params)
    orphans.execute(_ORPHAN_ENTRIES_SQL, params)
    customers.execute(_CUSTOMERS_SINCE_SQL if incremental else _CUSTOMERS_SQL, params)
    yield
    for (number, customer_id, status, total, paid, credited, written_off, due, alloc_paid, alloc_credited,
         write_offs) in invoices.fetchall():
        expected = Decimal(0) if status == "void" else total - alloc_paid - alloc_credited - write_offs
        details = []
        if paid != alloc_paid:
            details.append(f"paid {paid} but its payment allocations sum to {alloc_paid}")
        if credited != alloc_credited:
            details.append(f"credited {credited} but its credit allocations sum to {alloc_credited}")
        if written_off != write_offs:
            details.append(f"written off {written_off} but its write-offs sum to {write_offs}")
        if due != expected:
            details.append(f"due {due} but total − allocations − credits − write-offs = {expected}")
        result.fail(f"{number}{names.customer(customer_id)}: sub-ledger drift: {'; '.join(details)}")
    for pk, reference, customer_id, allocated, alloc_sum, refunded, refund_sum in payments.fetchall():
        result.fail(f"payment {reference or f'#{pk}'}{names.customer(customer_id)}: sub-ledger drift: allocated "
                    f"{allocated} (allocations {alloc_sum}), refunded {refunded} (refunds {refund_sum})")
    for number, customer_id, applied, alloc_sum in notes.fetchall():
        result.fail(f"{number}{names.customer(customer_id)}: sub-ledger drift: applied {applied} but its "
                    f"allocations sum to {alloc_sum}")
    for seq, source_type, source_id, label in orphans.fetchall():
        result.fail(f"entry #{seq} ({label or source_type}): posted for {source_type} #{source_id}, which no "
                    f"longer exists", seq)
    for customer_id, currency, open_items, unapplied, other, balance, covered in customers.fetchall():
        if covered:
            result.outside_docs[(customer_id, currency)] = other
        if open_items - unapplied + other == balance:
            continue
        result.fail(f"customer {names.name(customer_id)}: open items {open_items} − unapplied {unapplied}"
                    + (f" + other AR entries {other}" if other else "")
                    + f" = {open_items - unapplied + other} {currency}, but its AR balance is {balance}")
