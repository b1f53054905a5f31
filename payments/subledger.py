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

_INVOICES_SQL = """
WITH a AS (
    SELECT invoice_id, sum(amount) FILTER (WHERE payment_id IS NOT NULL) AS paid,
           sum(amount) FILTER (WHERE credit_note_id IS NOT NULL) AS credited
    FROM payments_allocation WHERE organization_id = %(org)s GROUP BY invoice_id
), w AS (
    SELECT invoice_id, sum(amount) AS written_off FROM invoicing_writeoff
    WHERE organization_id = %(org)s GROUP BY invoice_id
)
SELECT i.number, i.customer_id, i.status, i.total, i.amount_paid, i.amount_credited, i.amount_written_off,
       i.amount_due, coalesce(a.paid, 0), coalesce(a.credited, 0), coalesce(w.written_off, 0)
FROM invoicing_invoice i LEFT JOIN a ON a.invoice_id = i.id LEFT JOIN w ON w.invoice_id = i.id
WHERE i.organization_id = %(org)s AND i.status <> 'draft' AND (
    i.amount_paid <> coalesce(a.paid, 0) OR i.amount_credited <> coalesce(a.credited, 0)
    OR i.amount_written_off <> coalesce(w.written_off, 0)
    OR i.amount_due <> CASE WHEN i.status = 'void' THEN 0 ELSE
        i.total - coalesce(a.paid, 0) - coalesce(a.credited, 0) - coalesce(w.written_off, 0) END)
ORDER BY i.id
"""
_PAYMENTS_SQL = """
SELECT p.id, p.reference, p.customer_id, p.amount_allocated, coalesce(a.s, 0), p.amount_refunded, coalesce(r.s, 0)
FROM payments_payment p
LEFT JOIN (SELECT payment_id, sum(amount) s FROM payments_allocation
           WHERE organization_id = %(org)s AND payment_id IS NOT NULL GROUP BY payment_id) a ON a.payment_id = p.id
LEFT JOIN (SELECT payment_id, sum(amount) s FROM payments_refund
           WHERE organization_id = %(org)s GROUP BY payment_id) r ON r.payment_id = p.id
WHERE p.organization_id = %(org)s AND (p.amount_allocated <> coalesce(a.s, 0) OR p.amount_refunded <> coalesce(r.s, 0))
ORDER BY p.id
"""
_CREDIT_NOTES_SQL = """
SELECT c.number, c.customer_id, c.amount_applied, coalesce(a.s, 0)
FROM invoicing_creditnote c
LEFT JOIN (SELECT credit_note_id, sum(amount) s FROM payments_allocation
           WHERE organization_id = %(org)s AND credit_note_id IS NOT NULL GROUP BY credit_note_id) a
       ON a.credit_note_id = c.id
WHERE c.organization_id = %(org)s AND c.amount_applied <> coalesce(a.s, 0)
ORDER BY c.id
"""
# Per customer and currency, from the documents: open amounts due, unapplied payments and credit notes.
_ITEMS = """
    SELECT customer_id, currency, amount_due AS open, 0 AS unapplied, 0 AS other, 0 AS balance, 0 AS new
    FROM invoicing_invoice WHERE organization_id = %(org)s AND status = 'issued' AND amount_due <> 0
    UNION ALL
    SELECT customer_id, currency, 0, amount - amount_allocated - amount_refunded, 0, 0, 0
    FROM payments_payment WHERE organization_id = %(org)s AND reversed_at IS NULL
    UNION ALL
    SELECT customer_id, currency, 0, total - amount_applied, 0, 0, 0
    FROM invoicing_creditnote WHERE organization_id = %(org)s
"""
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
), items AS (""" + _ITEMS + """
    UNION ALL
    SELECT l.customer_id, l.currency, 0, 0, l.amount, 0, 0 FROM accounts_journalline l
    WHERE l.organization_id = %(org)s AND l.customer_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM docs WHERE docs.id = l.entry_id)
    UNION ALL
    SELECT customer_id, currency, 0, 0, 0, amount, 1 FROM accounts_customerbalance WHERE organization_id = %(org)s
)""" + _TOTALS + "ORDER BY customer_id, currency"  # noqa: S608 (constants only)

# The incremental check: `other` = what the last clean check vouched for (verified_outside_docs)
# + the new AR lines (entries after %(after)s) that no document refers to, each looked up by the
# documents' unique entry keys: no older line is read. Only the customers with new lines and the
# ones that do not add up are returned.
_IN_A_DOCUMENT = " OR ".join(
    f"EXISTS (SELECT 1 FROM {table} d WHERE d.{column} = l.entry_id AND d.organization_id = l.organization_id)"  # noqa: S608 (constants only)
    for table, column in (("invoicing_invoice", "issue_entry_id"), ("invoicing_invoice", "void_entry_id"),
                          ("invoicing_writeoff", "entry_id"), ("invoicing_creditnote", "entry_id"),
                          ("payments_payment", "entry_id"), ("payments_payment", "reversal_entry_id"),
                          ("payments_refund", "entry_id")))
_CUSTOMERS_SINCE_SQL = """
WITH items AS (""" + _ITEMS + """
    UNION ALL
    SELECT l.customer_id, l.currency, 0, 0, CASE WHEN """ + _IN_A_DOCUMENT + """ THEN 0 ELSE l.amount END, 0, 1
    FROM accounts_journalline l
    WHERE l.organization_id = %(org)s AND l.entry_id > %(after)s AND l.customer_id IS NOT NULL
    UNION ALL
    SELECT customer_id, currency, 0, 0, verified_outside_docs, amount, 0 FROM accounts_customerbalance
    WHERE organization_id = %(org)s
)""" + _TOTALS + """HAVING sum(new) > 0 OR sum(open) - sum(unapplied) + sum(other) <> sum(balance)
ORDER BY customer_id, currency"""  # noqa: S608 (constants only)

# Entries posted for a document that no longer exists (deleted past the triggers).
_ORPHAN_ENTRIES_SQL = """
SELECT e.seq, e.source_type, e.source_id, e.source_label FROM accounts_journalentry e
WHERE e.organization_id = %(org)s AND (
    (e.source_type = 'invoicing.invoice'
     AND NOT EXISTS (SELECT 1 FROM invoicing_invoice d WHERE d.id = e.source_id))
    OR (e.source_type = 'payments.payment'
        AND NOT EXISTS (SELECT 1 FROM payments_payment d WHERE d.id = e.source_id))
    OR (e.source_type = 'payments.refund'
        AND NOT EXISTS (SELECT 1 FROM payments_refund d WHERE d.id = e.source_id)))
ORDER BY e.seq
"""


def check(cursor, org_id, result, names, since_entry=None):
    """`since_entry`: in an incremental check, the id of the entry at the verified point. A
    generator (accounts.ledger_verify_seals): sends its queries, yields, then reads the answers."""
    params = {"org": org_id, "after": since_entry or 0}
    pg = cursor.connection
    invoices, payments, notes, orphans, customers = (pg.cursor() for _ in range(5))
    invoices.execute(_INVOICES_SQL, params)
    payments.execute(_PAYMENTS_SQL, params)
    notes.execute(_CREDIT_NOTES_SQL, params)
    orphans.execute(_ORPHAN_ENTRIES_SQL, params)
    customers.execute(_CUSTOMERS_SQL if since_entry is None else _CUSTOMERS_SINCE_SQL, params)
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
