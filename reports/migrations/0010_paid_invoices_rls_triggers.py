"""RLS on reports_paidinvoice and the triggers that keep it exact.

An invoice enters the table when it becomes paid in full by payments (status issued, nothing
due, something paid, nothing written off) and leaves when it stops being so (an un-application,
a reversal); its paid day is its item span's last day, refreshed whenever that span moves (the
triggers are named to run after the span triggers of the same statement).
"""

from django.db import migrations

from accounts.rls import rls_for

PAID = "{r}.status = 'issued' AND {r}.amount_due = 0 AND {r}.amount_paid > 0 AND {r}.amount_written_off = 0"

FUNCTIONS = f"""
CREATE FUNCTION reports_paid_invoice_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_paidinvoice (organization_id, invoice_id, customer_id, currency, issue_date, due_date, paid_on)
    SELECT n.organization_id, n.id, n.customer_id, n.currency, n.issue_date, n.due_date,
           coalesce(s.last_day, n.issue_date)
    FROM new_rows n LEFT JOIN reports_itemspan s ON s.kind = 'i' AND s.item_id = n.id
    WHERE {PAID.format(r="n")}
    ON CONFLICT (invoice_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION reports_paid_invoice_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_paid boolean := {PAID.format(r="OLD")};
    is_paid boolean := {PAID.format(r="NEW")};
BEGIN
    IF was_paid AND NOT is_paid THEN
        DELETE FROM reports_paidinvoice WHERE invoice_id = OLD.id;
    ELSIF is_paid AND NOT was_paid THEN
        INSERT INTO reports_paidinvoice (organization_id, invoice_id, customer_id, currency, issue_date, due_date,
                                         paid_on)
        SELECT NEW.organization_id, NEW.id, NEW.customer_id, NEW.currency, NEW.issue_date, NEW.due_date,
               coalesce((SELECT last_day FROM reports_itemspan WHERE kind = 'i' AND item_id = NEW.id), NEW.issue_date)
        ON CONFLICT (invoice_id) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION reports_paid_refresh_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reports_paidinvoice p SET paid_on = s.last_day
    FROM reports_itemspan s
    WHERE s.kind = 'i' AND s.item_id = p.invoice_id AND p.paid_on <> s.last_day
      AND p.invoice_id IN (SELECT DISTINCT invoice_id FROM new_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER reports_zpaid_invoice_insert AFTER INSERT ON invoicing_invoice
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_paid_invoice_rows();
CREATE TRIGGER reports_zpaid_invoice_update AFTER UPDATE ON invoicing_invoice FOR EACH ROW
    WHEN (OLD.amount_due IS DISTINCT FROM NEW.amount_due OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.amount_paid IS DISTINCT FROM NEW.amount_paid
          OR OLD.amount_written_off IS DISTINCT FROM NEW.amount_written_off)
    EXECUTE FUNCTION reports_paid_invoice_change();
CREATE TRIGGER reports_zpaid_allocation_insert AFTER INSERT ON payments_allocation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_paid_refresh_days();
CREATE TRIGGER reports_zpaid_writeoff_insert AFTER INSERT ON invoicing_writeoff
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_paid_refresh_days();
"""  # noqa: S608 - built from constants only

DROP = """
DROP TRIGGER IF EXISTS reports_zpaid_invoice_insert ON invoicing_invoice;
DROP TRIGGER IF EXISTS reports_zpaid_invoice_update ON invoicing_invoice;
DROP TRIGGER IF EXISTS reports_zpaid_allocation_insert ON payments_allocation;
DROP TRIGGER IF EXISTS reports_zpaid_writeoff_insert ON invoicing_writeoff;
DROP FUNCTION IF EXISTS reports_paid_invoice_rows(), reports_paid_invoice_change(), reports_paid_refresh_days();
"""

REBUILD = f"""
INSERT INTO reports_paidinvoice (organization_id, invoice_id, customer_id, currency, issue_date, due_date, paid_on)
SELECT i.organization_id, i.id, i.customer_id, i.currency, i.issue_date, i.due_date, coalesce(s.last_day, i.issue_date)
FROM invoicing_invoice i LEFT JOIN reports_itemspan s ON s.kind = 'i' AND s.item_id = i.id
WHERE {PAID.format(r="i")};
"""  # noqa: S608 - built from constants only


class Migration(migrations.Migration):
    dependencies = [("reports", "0009_paid_invoices")]

    operations = [
        rls_for("reports_paidinvoice"),
        migrations.RunSQL(FUNCTIONS, DROP),
        migrations.RunSQL(REBUILD, "DELETE FROM reports_paidinvoice"),
    ]
