"""Issued invoices and credit notes, their lines, write-offs, the timeline, stored PDFs and the
delivery log: frozen by the database for every role (accounts.frozen; DESIGN.md invariant 9)."""

from django.db import migrations

from accounts.frozen import append_only_sql, child_sql, frozen_sql


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0003_documents"), ("accounts", "0006_frozen_guard_functions")]

    operations = [
        frozen_sql("invoicing_invoice", state="status", editable=("draft",),
                   mutable=("amount_paid", "amount_credited", "amount_written_off", "amount_due", "status",
                            "void_entry_id", "disputed_at", "dispute_reason", "disputed_by_id", "dispute_until")),
        child_sql("invoicing_invoiceline", parent="invoicing_invoice", fk="invoice_id", state="status",
                  editable=("draft",), operations=("UPDATE", "DELETE")),
        # The timeline is never edited; a draft's events go when the draft is deleted.
        child_sql("invoicing_invoiceevent", parent="invoicing_invoice", fk="invoice_id", state="status",
                  editable=("draft",), operations=("DELETE",)),
        frozen_sql("invoicing_creditnote", mutable=("amount_applied",)),
        append_only_sql("invoicing_creditnoteline"),
        append_only_sql("invoicing_writeoff"),
        append_only_sql("invoicing_storeddocument"),
        frozen_sql("invoicing_emaildelivery",
                   mutable=("status", "attempts", "max_attempts", "last_error", "next_attempt_at", "message_id",
                            "sent_at", "document_id", "pdf_sha256")),
    ]
