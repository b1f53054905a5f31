"""What reminders seals (accounts.seals): each late-fee charge, the row that says "this fee document
was charged on that overdue invoice at that schedule point, for this amount". The fee document
itself is an invoice of kind late_fee and is sealed as one (invoicing.seals); the charge binds it to
the overdue invoice and to its issue entry, so a charge edited, deleted or moved to another fee is
named by verify_ledger. Promises to pay are not sealed (they post nothing and change as they are
kept or broken).

Each reminder message is sealed once sent (kind reminder): to whom, what it said, the amount due and
late fee it stated, when; tied to the invoice's issue entry. So is each consolidated reminder e-mail
(kind reminder_batch: one e-mail listing a customer's invoices at a step on one day). The database
freezes both from then on (accounts.frozen), and verify_ledger names one changed or deleted past
the triggers. Each file attached to a dispute is sealed when it is added (kind dispute_attachment)
and is append-only from the start."""

from django.db import migrations

from accounts.seals import SealKind, instant, iso, register, seal_function_sql

LATE_FEE_CHARGE = register(SealKind(
    kind="late_fee_charge", table="reminders_latefeecharge", noun="the late-fee charge",
    label="""'late fee ' || coalesce((SELECT number FROM invoicing_invoice f WHERE f.id = d.fee_invoice_id), '?')
        || ' on ' || coalesce((SELECT number FROM invoicing_invoice i WHERE i.id = d.invoice_id), '?')""",
    entry="(SELECT issue_entry_id FROM invoicing_invoice f WHERE f.id = d.fee_invoice_id)",
    customer="(SELECT customer_id FROM invoicing_invoice i WHERE i.id = d.invoice_id)",
    content="concat_ws('|', 'late-fee-charge-v1', d.invoice_id, d.offset_days, d.fee_invoice_id, d.amount)",
))

REMINDER = register(SealKind(
    kind="reminder", table="reminders_remindermessage", noun="the reminder",
    sealed_when="d.status = 'sent'", update_of="status",
    label="'reminder #' || d.id"
          " || coalesce(' on ' || (SELECT number FROM invoicing_invoice i WHERE i.id = d.invoice_id), '')",
    entry="(SELECT issue_entry_id FROM invoicing_invoice i WHERE i.id = d.invoice_id)",
    content=f"""concat_ws('|', 'reminder-v1', d.invoice_id, d.customer_id, d.kind, d.status,
        coalesce(d.offset_days, -99999), d.repeat, d.tone, coalesce(d.amount_due::text, ''),
        coalesce(d.late_fee::text, ''), coalesce(d.late_fee_invoice_id, 0), coalesce(d.batch_id, 0), d.to_emails,
        d.subject, d.body, d.message_id,
        {instant('d.sent_at')}, {instant('d.due_at')})""",
))



def email_column(column: str, domain: str = "d") -> str:
    """A column of the domain row's e-mail in invoicing's outbox (`email_id`), as SQL over `d`."""
    return f"(SELECT e.{column} FROM invoicing_emaildelivery e WHERE e.id = {domain}.email_id)"  # noqa: S608


def email_recipients(domain: str = "d") -> str:
    """The e-mail's recipients as the reminder tables wrote them: joined by ", " in order ('' for none)."""
    return ("(SELECT coalesce(string_agg(r.address, ', ' ORDER BY r.n), '') FROM invoicing_emaildelivery e, "  # noqa: S608
            "jsonb_array_elements_text(e.recipients) WITH ORDINALITY AS r(address, n) "
            f"WHERE e.id = {domain}.email_id)")


# The e-mail's fields are read through its outbox row (issue 12), in the very text the batch table's
# own columns gave before (reminders 0025 moved them), so the seals made before still verify. Sealed
# when that row is sent: the trigger on the outbox (`SEALED_ON_SEND`) seals the batch then.
REMINDER_BATCH = register(SealKind(
    kind="reminder_batch", table="reminders_reminderbatch", noun="the consolidated reminder",
    sealed_when=f"{email_column('status')} = 'sent'", update_of="email_id",
    label="'reminder e-mail #' || d.id || ' of ' || " + iso("d.day"),
    content=f"""concat_ws('|', 'reminder-batch-v1', d.customer_id, {iso('d.day')}, {email_column('status')}, d.tone,
        {email_recipients()}, {email_column('subject')}, {email_column('body')}, {email_column('message_id')},
        {instant(email_column('sent_at'))})""",
))

# A file attached to a dispute (reminders.attachments): its bytes' own hash (recomputed from the content,
# like a stored PDF's), what it is called and who gave it when; tied to the disputed invoice's issue entry.
DISPUTE_ATTACHMENT = register(SealKind(
    kind="dispute_attachment", table="reminders_disputeattachment", noun="the dispute attachment",
    label="'attachment ' || d.filename || ' on dispute #' || d.dispute_id",
    entry="""(SELECT i.issue_entry_id FROM reminders_dispute x JOIN invoicing_invoice i ON i.id = x.invoice_id
        WHERE x.id = d.dispute_id)""",
    customer="(SELECT x.customer_id FROM reminders_dispute x WHERE x.id = d.dispute_id)",
    content=f"""concat_ws('|', 'dispute-attachment-v1', d.dispute_id, d.filename, d.content_type, d.size,
        encode(sha256(d.content), 'hex'), d.from_customer, coalesce(d.uploaded_by_id, 0), coalesce(d.link_id, 0),
        {instant('d.created_at')})""",
))


def sealed_on_send_sql(kind, email_kind: str) -> migrations.RunSQL:
    """A trigger on invoicing's outbox that seals `kind`'s domain row (pointing at its e-mail by
    `email_id`) when that e-mail of `email_kind` becomes sent: the sending state lives on the outbox."""
    name = f"{kind.table}_sealed_on_send"
    function = seal_function_sql(name, kind, match="d.email_id = NEW.id") + f"""
    CREATE CONSTRAINT TRIGGER {name} AFTER UPDATE OF status ON invoicing_emaildelivery NOT DEFERRABLE
        FOR EACH ROW WHEN (NEW.kind = '{email_kind}' AND NEW.status = 'sent') EXECUTE FUNCTION {name}();
    """
    return migrations.RunSQL(function, f"DROP TRIGGER {name} ON invoicing_emaildelivery; DROP FUNCTION {name}();")
