"""RLS on reports_customertotal and the triggers that keep it exact (issue 23 item 2).

Per customer and currency: Σ amount due and count of the issued invoices with something due —
reports_customeropen's rule (migration 0017) without the dates. Inserts are statement-level (one
grouped upsert per statement, COPY included); updates and deletes row-level with a WHEN clause,
free unless amount due, status, currency or customer change (dates do not move a customer's
total). A row whose count reaches 0 is deleted in the same trigger.
"""

from django.db import migrations

from accounts.rls import rls_for

KEY = "organization_id, customer_id, currency"

FUNCTIONS = f"""
CREATE FUNCTION reports_custtotal_invoice_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_customertotal ({KEY}, amount, count)
    SELECT {KEY}, sum(amount_due), count(*) FROM new_rows
    WHERE status = 'issued' AND amount_due > 0 GROUP BY {KEY}
    ON CONFLICT ({KEY}) DO UPDATE
    SET amount = reports_customertotal.amount + EXCLUDED.amount, count = reports_customertotal.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE FUNCTION reports_custtotal_add(org bigint, cust bigint, cur text, delta numeric, n integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    remaining integer;
BEGIN
    INSERT INTO reports_customertotal ({KEY}, amount, count)
    VALUES (org, cust, cur, delta, n)
    ON CONFLICT ({KEY}) DO UPDATE
    SET amount = reports_customertotal.amount + EXCLUDED.amount, count = reports_customertotal.count + EXCLUDED.count
    RETURNING count INTO remaining;
    IF remaining = 0 THEN
        DELETE FROM reports_customertotal WHERE organization_id = org AND customer_id = cust AND currency = cur;
    END IF;
END $$;

CREATE FUNCTION reports_custtotal_invoice_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_open boolean := TG_OP <> 'INSERT' AND OLD.status = 'issued' AND OLD.amount_due > 0;
    is_open boolean := TG_OP = 'UPDATE' AND NEW.status = 'issued' AND NEW.amount_due > 0;
BEGIN
    IF was_open AND is_open AND OLD.organization_id = NEW.organization_id AND OLD.customer_id = NEW.customer_id
       AND OLD.currency = NEW.currency THEN
        IF NEW.amount_due <> OLD.amount_due THEN
            PERFORM reports_custtotal_add(NEW.organization_id, NEW.customer_id, NEW.currency,
                                          NEW.amount_due - OLD.amount_due, 0);
        END IF;
        RETURN NULL;
    END IF;
    IF was_open THEN
        PERFORM reports_custtotal_add(OLD.organization_id, OLD.customer_id, OLD.currency, -OLD.amount_due, -1);
    END IF;
    IF is_open THEN
        PERFORM reports_custtotal_add(NEW.organization_id, NEW.customer_id, NEW.currency, NEW.amount_due, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER reports_custtotal_invoice_insert AFTER INSERT ON invoicing_invoice
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_custtotal_invoice_rows();
CREATE TRIGGER reports_custtotal_invoice_update AFTER UPDATE ON invoicing_invoice FOR EACH ROW
    WHEN (OLD.amount_due IS DISTINCT FROM NEW.amount_due OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.currency IS DISTINCT FROM NEW.currency OR OLD.customer_id IS DISTINCT FROM NEW.customer_id)
    EXECUTE FUNCTION reports_custtotal_invoice_change();
CREATE TRIGGER reports_custtotal_invoice_delete AFTER DELETE ON invoicing_invoice FOR EACH ROW
    WHEN (OLD.status <> 'draft') EXECUTE FUNCTION reports_custtotal_invoice_change();
"""  # noqa: S608 - built from constants only

DROP = """
DROP TRIGGER IF EXISTS reports_custtotal_invoice_insert ON invoicing_invoice;
DROP TRIGGER IF EXISTS reports_custtotal_invoice_update ON invoicing_invoice;
DROP TRIGGER IF EXISTS reports_custtotal_invoice_delete ON invoicing_invoice;
DROP FUNCTION IF EXISTS reports_custtotal_invoice_rows(), reports_custtotal_invoice_change(),
    reports_custtotal_add(bigint, bigint, text, numeric, integer);
"""

REBUILD = f"""
INSERT INTO reports_customertotal ({KEY}, amount, count)
SELECT {KEY}, sum(amount_due), count(*) FROM invoicing_invoice
WHERE status = 'issued' AND amount_due > 0 GROUP BY {KEY};
"""  # noqa: S608 - built from constants only


class Migration(migrations.Migration):
    dependencies = [("reports", "0020_report_subscriptions")]

    operations = [
        rls_for("reports_customertotal"),
        migrations.RunSQL(FUNCTIONS, DROP),
        migrations.RunSQL(REBUILD, "DELETE FROM reports_customertotal;"),
    ]
