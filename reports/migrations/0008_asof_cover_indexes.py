"""Index-only lookups for the as-of sums. Under row-level security every row read must show its
organization_id to the policy, so these covering indexes include it: the invoices whose item
span straddles a past date are read by id, and their allocation rows up to the date summed,
without touching either table (allocation rows are append-only, so their pages stay all-visible)."""

from django.db import migrations

FORWARD = """
CREATE INDEX rep_invoice_id_cover ON invoicing_invoice (id)
    INCLUDE (organization_id, customer_id, currency, issue_date, due_date, total, status, void_entry_id);
CREATE INDEX rep_allocation_invoice_cover ON payments_allocation (invoice_id, effective_date)
    INCLUDE (amount, organization_id);
"""
BACKWARD = "DROP INDEX IF EXISTS rep_invoice_id_cover, rep_allocation_invoice_cover;"


class Migration(migrations.Migration):
    dependencies = [("reports", "0007_customer_name_index")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
