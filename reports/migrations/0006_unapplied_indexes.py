"""Unapplied payments and credit notes: partial covering indexes on "what is unapplied <> 0",
with statistics on that expression so the planner knows how few rows match (about 1 % of
payments) and reads the index instead of the table. Replaces the partial indexes of 0002."""

from django.db import migrations

PAYMENT_OPEN = "(CASE WHEN reversal_entry_id IS NULL THEN amount ELSE 0 END) - amount_allocated - amount_refunded"
CREDIT_OPEN = "total - amount_applied"

FORWARD = f"""
DROP INDEX IF EXISTS rep_payment_unapplied;
DROP INDEX IF EXISTS rep_creditnote_unapplied;
CREATE INDEX rep_payment_unapplied ON payments_payment (organization_id, customer_id)
    INCLUDE (currency, received_date, amount, amount_allocated, amount_refunded, reversal_entry_id)
    WHERE {PAYMENT_OPEN} <> 0;
CREATE STATISTICS rep_payment_unapplied_stats ON ({PAYMENT_OPEN}) FROM payments_payment;
CREATE INDEX rep_creditnote_unapplied ON invoicing_creditnote (organization_id, customer_id)
    INCLUDE (currency, issue_date, total, amount_applied)
    WHERE {CREDIT_OPEN} <> 0;
CREATE STATISTICS rep_creditnote_unapplied_stats ON ({CREDIT_OPEN}) FROM invoicing_creditnote;
ANALYZE payments_payment;
ANALYZE invoicing_creditnote;
"""

BACKWARD = """
DROP STATISTICS IF EXISTS rep_payment_unapplied_stats, rep_creditnote_unapplied_stats;
DROP INDEX IF EXISTS rep_payment_unapplied, rep_creditnote_unapplied;
CREATE INDEX rep_payment_unapplied ON payments_payment (organization_id, customer_id)
    WHERE (CASE WHEN reversal_entry_id IS NULL THEN amount ELSE 0 END) <> amount_allocated + amount_refunded;
CREATE INDEX rep_creditnote_unapplied ON invoicing_creditnote (organization_id, customer_id)
    WHERE amount_applied <> total;
"""


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_summaries_rls_triggers")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
