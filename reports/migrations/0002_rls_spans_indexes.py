"""RLS on the reports tables; the triggers that keep reports_itemspan exact; report indexes.

Item spans (see reports/models.py): every statement that adds or changes a row which moves an
item's open amount widens that item's [first_day, last_day] in the same transaction. The
triggers are statement-level with transition tables where rows arrive in bulk (COPY and
INSERT ... SELECT stay set-based) and row-level with a WHEN clause on updates (they cost
nothing unless the status or reversal actually changes). Spans only ever widen, which is
always safe: a wider span only means an item is summed exactly instead of read from its
maintained amount.

The indexes serve the reports at scale (bench/reports_bench.py); the ones on other apps' tables
are named rep_* and change no behaviour.
"""

from django.db import migrations

from accounts.rls import rls_for

UPSERT = """
    ON CONFLICT (kind, item_id) DO UPDATE
    SET first_day = least(reports_itemspan.first_day, EXCLUDED.first_day),
        last_day = greatest(reports_itemspan.last_day, EXCLUDED.last_day)
"""

FUNCTIONS = f"""
CREATE FUNCTION reports_span_invoice_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day)
    SELECT n.organization_id, 'i', n.id,
           least(n.issue_date, coalesce(v.effective_date, n.issue_date)),
           greatest(n.issue_date, coalesce(v.effective_date, n.issue_date))
    FROM new_rows n LEFT JOIN accounts_journalentry v ON v.id = n.void_entry_id
    WHERE n.status <> 'draft'
    {UPSERT};
    RETURN NULL;
END $$;

CREATE FUNCTION reports_span_invoice_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    void_day date;
BEGIN
    IF NEW.status = 'draft' THEN
        RETURN NULL;
    END IF;
    SELECT effective_date INTO void_day FROM accounts_journalentry WHERE id = NEW.void_entry_id;
    INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day)
    VALUES (NEW.organization_id, 'i', NEW.id, least(NEW.issue_date, coalesce(void_day, NEW.issue_date)),
            greatest(NEW.issue_date, coalesce(void_day, NEW.issue_date)))
    {UPSERT};
    RETURN NULL;
END $$;

CREATE FUNCTION reports_span_writeoff_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day)
    SELECT n.organization_id, 'i', n.invoice_id, min(n.effective_date), max(n.effective_date)
    FROM new_rows n GROUP BY n.organization_id, n.invoice_id
    {UPSERT};
    RETURN NULL;
END $$;

CREATE FUNCTION reports_span_allocation_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day)
    SELECT n.organization_id, k.kind, k.item_id, min(n.effective_date), max(n.effective_date)
    FROM new_rows n
    CROSS JOIN LATERAL (VALUES ('i', n.invoice_id), ('p', n.payment_id), ('c', n.credit_note_id)) AS k(kind, item_id)
    WHERE k.item_id IS NOT NULL
    GROUP BY n.organization_id, k.kind, k.item_id
    {UPSERT};
    RETURN NULL;
END $$;

CREATE FUNCTION reports_span_payment_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day)
    SELECT n.organization_id, 'p', n.id,
           least(n.received_date, coalesce(r.effective_date, n.received_date)),
           greatest(n.received_date, coalesce(r.effective_date, n.received_date))
    FROM new_rows n LEFT JOIN accounts_journalentry r ON r.id = n.reversal_entry_id
    {UPSERT};
    RETURN NULL;
END $$;

CREATE FUNCTION reports_span_payment_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    reversal_day date;
BEGIN
    SELECT effective_date INTO reversal_day FROM accounts_journalentry WHERE id = NEW.reversal_entry_id;
    INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day)
    VALUES (NEW.organization_id, 'p', NEW.id, least(NEW.received_date, coalesce(reversal_day, NEW.received_date)),
            greatest(NEW.received_date, coalesce(reversal_day, NEW.received_date)))
    {UPSERT};
    RETURN NULL;
END $$;

CREATE FUNCTION reports_span_refund_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day)
    SELECT n.organization_id, 'p', n.payment_id, min(n.refund_date), max(n.refund_date)
    FROM new_rows n GROUP BY n.organization_id, n.payment_id
    {UPSERT};
    RETURN NULL;
END $$;

CREATE FUNCTION reports_span_credit_note_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day)
    SELECT n.organization_id, 'c', n.id, n.issue_date, n.issue_date FROM new_rows n
    {UPSERT};
    RETURN NULL;
END $$;

CREATE TRIGGER reports_span_invoice_insert AFTER INSERT ON invoicing_invoice
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_span_invoice_rows();
CREATE TRIGGER reports_span_invoice_update AFTER UPDATE ON invoicing_invoice FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.issue_date IS DISTINCT FROM NEW.issue_date
          OR OLD.void_entry_id IS DISTINCT FROM NEW.void_entry_id)
    EXECUTE FUNCTION reports_span_invoice_status();
CREATE TRIGGER reports_span_writeoff_insert AFTER INSERT ON invoicing_writeoff
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_span_writeoff_rows();
CREATE TRIGGER reports_span_allocation_insert AFTER INSERT ON payments_allocation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_span_allocation_rows();
CREATE TRIGGER reports_span_payment_insert AFTER INSERT ON payments_payment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_span_payment_rows();
CREATE TRIGGER reports_span_payment_update AFTER UPDATE ON payments_payment FOR EACH ROW
    WHEN (OLD.reversal_entry_id IS DISTINCT FROM NEW.reversal_entry_id
          OR OLD.received_date IS DISTINCT FROM NEW.received_date)
    EXECUTE FUNCTION reports_span_payment_change();
CREATE TRIGGER reports_span_refund_insert AFTER INSERT ON payments_refund
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_span_refund_rows();
CREATE TRIGGER reports_span_credit_note_insert AFTER INSERT ON invoicing_creditnote
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_span_credit_note_rows();
"""  # noqa: S608 - built from constants only

DROP_FUNCTIONS = """
DROP TRIGGER IF EXISTS reports_span_invoice_insert ON invoicing_invoice;
DROP TRIGGER IF EXISTS reports_span_invoice_update ON invoicing_invoice;
DROP TRIGGER IF EXISTS reports_span_writeoff_insert ON invoicing_writeoff;
DROP TRIGGER IF EXISTS reports_span_allocation_insert ON payments_allocation;
DROP TRIGGER IF EXISTS reports_span_payment_insert ON payments_payment;
DROP TRIGGER IF EXISTS reports_span_payment_update ON payments_payment;
DROP TRIGGER IF EXISTS reports_span_refund_insert ON payments_refund;
DROP TRIGGER IF EXISTS reports_span_credit_note_insert ON invoicing_creditnote;
DROP FUNCTION IF EXISTS reports_span_invoice_rows(), reports_span_invoice_status(), reports_span_writeoff_rows(),
    reports_span_allocation_rows(), reports_span_payment_rows(), reports_span_payment_change(),
    reports_span_refund_rows(), reports_span_credit_note_rows();
"""  # noqa: S608 - built from constants only

# Derive every span from the rows (an existing database gets its spans when this migration runs).
REBUILD = """
INSERT INTO reports_itemspan (organization_id, kind, item_id, first_day, last_day)
SELECT organization_id, kind, item_id, min(day), max(day) FROM (
    SELECT i.organization_id, 'i' AS kind, i.id AS item_id, i.issue_date AS day
        FROM invoicing_invoice i WHERE i.status <> 'draft'
    UNION ALL SELECT i.organization_id, 'i', i.id, v.effective_date
        FROM invoicing_invoice i JOIN accounts_journalentry v ON v.id = i.void_entry_id
    UNION ALL SELECT organization_id, 'i', invoice_id, effective_date FROM invoicing_writeoff
    UNION ALL SELECT organization_id, 'i', invoice_id, effective_date FROM payments_allocation
    UNION ALL SELECT organization_id, 'p', payment_id, effective_date FROM payments_allocation
        WHERE payment_id IS NOT NULL
    UNION ALL SELECT organization_id, 'c', credit_note_id, effective_date FROM payments_allocation
        WHERE credit_note_id IS NOT NULL
    UNION ALL SELECT organization_id, 'p', id, received_date FROM payments_payment
    UNION ALL SELECT p.organization_id, 'p', p.id, r.effective_date
        FROM payments_payment p JOIN accounts_journalentry r ON r.id = p.reversal_entry_id
    UNION ALL SELECT organization_id, 'p', payment_id, refund_date FROM payments_refund
    UNION ALL SELECT organization_id, 'c', id, issue_date FROM invoicing_creditnote
) AS days
GROUP BY organization_id, kind, item_id
"""

INDEXES = """
-- Open invoices by due date, covering what the aging, dashboard and forecast read (index-only).
CREATE INDEX rep_invoice_open_due ON invoicing_invoice (organization_id, due_date)
    INCLUDE (customer_id, amount_due, issue_date, currency, id)
    WHERE status = 'issued' AND amount_due > 0;
-- Sales by day (DSO, insights): issued and voided invoices by issue date.
CREATE INDEX rep_invoice_issued_day ON invoicing_invoice (organization_id, issue_date)
    INCLUDE (total, currency, status, customer_id) WHERE status <> 'draft';
-- Collections by day (dashboard, insights).
CREATE INDEX rep_payment_received_day ON payments_payment (organization_id, received_date)
    INCLUDE (amount, currency, customer_id, reversal_entry_id);
-- Payments and credit notes with something unapplied today.
CREATE INDEX rep_payment_unapplied ON payments_payment (organization_id, customer_id)
    WHERE (CASE WHEN reversal_entry_id IS NULL THEN amount ELSE 0 END) <> amount_allocated + amount_refunded;
CREATE INDEX rep_creditnote_unapplied ON invoicing_creditnote (organization_id, customer_id)
    WHERE amount_applied <> total;
-- A source's allocation rows up to a date (as-of sums for payments).
CREATE INDEX rep_allocation_payment_day ON payments_allocation (payment_id, effective_date) INCLUDE (amount)
    WHERE payment_id IS NOT NULL;
CREATE INDEX rep_allocation_credit_day ON payments_allocation (credit_note_id, effective_date) INCLUDE (amount)
    WHERE credit_note_id IS NOT NULL;
-- Top debtors: the largest maintained balances.
CREATE INDEX rep_customerbalance_amount ON accounts_customerbalance (organization_id, currency, amount);
"""

DROP_INDEXES = """
DROP INDEX IF EXISTS rep_invoice_open_due, rep_invoice_issued_day, rep_payment_received_day, rep_payment_unapplied,
    rep_creditnote_unapplied, rep_allocation_payment_day, rep_allocation_credit_day, rep_customerbalance_amount;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("invoicing", "0003_documents"),
        ("payments", "0003_refund_submission"),
    ]

    operations = [
        rls_for("reports_reportsettings"),
        rls_for("reports_itemspan"),
        rls_for("reports_statementrun"),
        rls_for("reports_statementrunitem"),
        rls_for("reports_creditoverride"),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        migrations.RunSQL(REBUILD, "DELETE FROM reports_itemspan"),
        migrations.RunSQL(INDEXES, DROP_INDEXES),
    ]
