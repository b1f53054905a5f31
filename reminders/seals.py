"""What reminders seals (accounts.seals): each late-fee charge, the row that says "this fee document
was charged on that overdue invoice at that schedule point, for this amount". The fee document
itself is an invoice of kind late_fee and is sealed as one (invoicing.seals); the charge binds it to
the overdue invoice and to its issue entry, so a charge edited, deleted or moved to another fee is
named by verify_ledger. Promises to pay are not sealed (they post nothing and change as they are
kept or broken)."""

from accounts.seals import SealKind, register

LATE_FEE_CHARGE = register(SealKind(
    kind="late_fee_charge", table="reminders_latefeecharge", noun="the late-fee charge",
    label="""'late fee ' || coalesce((SELECT number FROM invoicing_invoice f WHERE f.id = d.fee_invoice_id), '?')
        || ' on ' || coalesce((SELECT number FROM invoicing_invoice i WHERE i.id = d.invoice_id), '?')""",
    entry="(SELECT issue_entry_id FROM invoicing_invoice f WHERE f.id = d.fee_invoice_id)",
    customer="(SELECT customer_id FROM invoicing_invoice i WHERE i.id = d.invoice_id)",
    content="concat_ws('|', 'late-fee-charge-v1', d.invoice_id, d.offset_days, d.fee_invoice_id, d.amount)",
))
