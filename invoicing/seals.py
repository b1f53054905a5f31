"""What invoicing seals (accounts.seals): issued invoices and credit notes with their lines,
write-offs and stored PDFs; sent quotes with their lines and the customer's decision on them;
each e-mail of the delivery log once sent; credit-control overrides. Each content expression is
fixed once rows are sealed with it."""

from accounts.seals import Children, SealKind, instant, iso, register

INVOICE_LINES = Children("invoicing_invoiceline", "invoice_id", """string_agg(concat_ws('~', l.position, l.description,
    l.quantity, l.unit, l.unit_price, l.discount_percent, l.tax_percent, l.gross_amount, l.net_amount, l.tax_amount),
    '^' ORDER BY l.position, l.id)""")
INVOICE = register(SealKind(
    kind="invoice", table="invoicing_invoice", noun="the invoice",
    sealed_when="d.status <> 'draft'", update_of="status",
    label="d.number", entry="d.issue_entry_id",
    content=f"""concat_ws('|', 'invoice-v1', d.number, d.kind, d.currency, {iso('d.issue_date')}, {iso('d.due_date')},
        d.customer_id, d.reference, d.discount_percent, d.subtotal, d.discount_total, d.tax_total, d.total,
        d.issue_entry_id, coalesce(d.related_invoice_id, 0), d.notes, d.terms, d.snapshot::text,
        {INVOICE_LINES.subquery})""",
    children=INVOICE_LINES,
))

CREDIT_NOTE_LINES = Children("invoicing_creditnoteline", "credit_note_id", """string_agg(concat_ws('~', l.position,
    l.description, l.quantity, l.unit_price, l.tax_percent, l.net_amount, l.tax_amount, coalesce(l.invoice_line_id, 0)),
    '^' ORDER BY l.position, l.id)""")
CREDIT_NOTE = register(SealKind(
    kind="credit_note", table="invoicing_creditnote", noun="the credit note", deferred=True,
    label="d.number", entry="d.entry_id",
    content=f"""concat_ws('|', 'credit-note-v1', d.number, d.currency, {iso('d.issue_date')}, d.customer_id,
        coalesce(d.invoice_id, 0), d.reason, d.subtotal, d.tax_total, d.total, d.entry_id, d.snapshot::text,
        {CREDIT_NOTE_LINES.subquery})""",
    children=CREDIT_NOTE_LINES,
))

WRITE_OFF = register(SealKind(
    kind="write_off", table="invoicing_writeoff", noun="the write-off",
    label="'write-off of ' || (SELECT number FROM invoicing_invoice i WHERE i.id = d.invoice_id)",
    entry="d.entry_id", customer="(SELECT customer_id FROM invoicing_invoice i WHERE i.id = d.invoice_id)",
    content=f"concat_ws('|', 'write-off-v1', d.invoice_id, d.amount, d.reason, {iso('d.effective_date')}, d.entry_id)",
))

PDF = register(SealKind(
    kind="pdf", table="invoicing_storeddocument", noun="the stored PDF",
    label="d.filename",
    entry="(SELECT issue_entry_id FROM invoicing_invoice i WHERE i.id = d.invoice_id)",
    customer="coalesce(d.customer_id, (SELECT customer_id FROM invoicing_invoice i WHERE i.id = d.invoice_id))",
    # The bytes' own hash (recomputed from the content, not the stored sha256 column) and what names them.
    content="""concat_ws('|', 'pdf-v1', d.kind, coalesce(d.invoice_id, 0), coalesce(d.customer_id, 0), d.state_key,
        d.filename, d.size, encode(sha256(d.content), 'hex'))""",
))

# A quote posts nothing (no entry): what it said when sent, with its lines. The columns that still
# move after sending (the decision, the conversion) are left out here; the decision has its own seal.
QUOTE_LINES = Children("invoicing_quoteline", "quote_id", """string_agg(concat_ws('~', l.position, l.description,
    l.quantity, l.unit, l.unit_price, l.discount_percent, l.tax_percent, l.gross_amount, l.tax_amount,
    coalesce(l.item_id, 0), coalesce(l.tax_rate_id, 0)), '^' ORDER BY l.position, l.id)""")
QUOTE = register(SealKind(
    kind="quote", table="invoicing_quote", noun="the quote",
    sealed_when="d.status <> 'draft'", update_of="status", label="d.number",
    content=f"""concat_ws('|', 'quote-v1', d.number, d.customer_id, d.currency, {iso('d.issue_date')},
        {iso('d.valid_until')}, d.reference, d.notes, d.subtotal, d.tax_total, d.total, d.nonce, {instant('d.sent_at')},
        {QUOTE_LINES.subquery})""",
    children=QUOTE_LINES,
))

# The customer's answer to a sent quote (accepted or declined, when, from which address).
QUOTE_DECISION = register(SealKind(
    kind="quote_decision", table="invoicing_quote", noun="the customer's decision on the quote",
    sealed_when="d.status IN ('accepted', 'declined')", update_of="status",
    label="'decision on ' || d.number",
    content=f"""concat_ws('|', 'quote-decision-v1', d.status, {instant('d.decided_at')},
        coalesce(host(d.decided_ip), ''))""",
))

# An e-mail of the delivery log, once sent: to whom, what it said, the PDF attached (its hash), the
# message id and time. Tied to the invoice's issue entry when it carried an invoice or reminder.
DELIVERY = register(SealKind(
    kind="delivery", table="invoicing_emaildelivery", noun="the delivery-log record",
    sealed_when="d.status = 'sent'", update_of="status",
    label="d.kind || ' e-mail #' || d.id"
          " || coalesce(' of ' || (SELECT number FROM invoicing_invoice i WHERE i.id = d.invoice_id), '')",
    entry="(SELECT issue_entry_id FROM invoicing_invoice i WHERE i.id = d.invoice_id)",
    customer="coalesce(d.customer_id, (SELECT customer_id FROM invoicing_invoice i WHERE i.id = d.invoice_id))",
    content=f"""concat_ws('|', 'delivery-v1', d.kind, coalesce(d.invoice_id, 0), coalesce(d.customer_id, 0),
        coalesce(d.quote_id, 0), coalesce(d.document_id, 0), d.recipients::text, d.subject, d.body, d.status,
        d.pdf_sha256, d.message_id, {instant('d.sent_at')}, {instant('d.created_at')})""",
))

# An owner's decision to let an invoice past credit control, with the figures and the reason.
CREDIT_OVERRIDE = register(SealKind(
    kind="credit_override", table="reports_creditoverride", noun="the credit-control override",
    # Made before the invoice is issued (it has no number yet): named by its own id.
    label="'credit override #' || d.id",
    content=f"""concat_ws('|', 'credit-override-v1', d.customer_id, coalesce(d.invoice_id, 0), d.amount, d.balance,
        d.credit_limit, d.problems, d.reason, d.approved_by_id, {instant('d.created_at')})""",
))
