"""RLS on the summary tables and the triggers that keep them exact (see reports/models.py).

Open-by-due-date moves with every change of an invoice's amount due, status or due date;
daily flow with every issued or voided invoice and every payment received or reversed. Both in
the same transaction as the change, statement-level (set-based) for inserts, so COPY stays fast.
"""

from django.db import migrations

from accounts.rls import rls_for

OPEN_UPSERT = """
    ON CONFLICT (organization_id, currency, due_date) DO UPDATE
    SET amount = reports_openbyduedate.amount + EXCLUDED.amount, count = reports_openbyduedate.count + EXCLUDED.count
"""
INVOICED_UPSERT = """
    ON CONFLICT (organization_id, currency, day) DO UPDATE
    SET invoiced = reports_dailyflow.invoiced + EXCLUDED.invoiced
"""
COLLECTED_UPSERT = """
    ON CONFLICT (organization_id, currency, day) DO UPDATE
    SET collected = reports_dailyflow.collected + EXCLUDED.collected
"""

FUNCTIONS = f"""
CREATE FUNCTION reports_sum_invoice_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_openbyduedate (organization_id, currency, due_date, amount, count)
    SELECT organization_id, currency, due_date, sum(amount_due), count(*) FROM new_rows
    WHERE status = 'issued' AND amount_due > 0 GROUP BY organization_id, currency, due_date
    {OPEN_UPSERT};
    INSERT INTO reports_dailyflow (organization_id, currency, day, invoiced, collected)
    SELECT organization_id, currency, issue_date, sum(total), 0 FROM new_rows
    WHERE status = 'issued' GROUP BY organization_id, currency, issue_date
    {INVOICED_UPSERT};
    RETURN NULL;
END $$;

CREATE FUNCTION reports_sum_open(org bigint, cur text, due date, amount numeric, n integer)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO reports_openbyduedate (organization_id, currency, due_date, amount, count)
    VALUES (org, cur, due, amount, n)
    {OPEN_UPSERT};
$$;

CREATE FUNCTION reports_sum_flow(org bigint, cur text, d date, invoiced numeric, collected numeric)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO reports_dailyflow (organization_id, currency, day, invoiced, collected)
    VALUES (org, cur, d, invoiced, collected)
    ON CONFLICT (organization_id, currency, day) DO UPDATE
    SET invoiced = reports_dailyflow.invoiced + EXCLUDED.invoiced,
        collected = reports_dailyflow.collected + EXCLUDED.collected;
$$;

CREATE FUNCTION reports_sum_invoice_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_open boolean := TG_OP <> 'INSERT' AND OLD.status = 'issued' AND OLD.amount_due > 0;
    is_open boolean := TG_OP = 'UPDATE' AND NEW.status = 'issued' AND NEW.amount_due > 0;
    was_sale boolean := TG_OP <> 'INSERT' AND OLD.status = 'issued';
    is_sale boolean := TG_OP = 'UPDATE' AND NEW.status = 'issued';
BEGIN
    IF was_open AND is_open AND OLD.organization_id = NEW.organization_id AND OLD.currency = NEW.currency
       AND OLD.due_date = NEW.due_date THEN
        IF NEW.amount_due <> OLD.amount_due THEN
            PERFORM reports_sum_open(NEW.organization_id, NEW.currency, NEW.due_date,
                                     NEW.amount_due - OLD.amount_due, 0);
        END IF;
    ELSE
        IF was_open THEN
            PERFORM reports_sum_open(OLD.organization_id, OLD.currency, OLD.due_date, -OLD.amount_due, -1);
        END IF;
        IF is_open THEN
            PERFORM reports_sum_open(NEW.organization_id, NEW.currency, NEW.due_date, NEW.amount_due, 1);
        END IF;
    END IF;
    IF was_sale AND is_sale AND OLD.organization_id = NEW.organization_id AND OLD.currency = NEW.currency
       AND OLD.issue_date = NEW.issue_date AND OLD.total = NEW.total THEN
        RETURN NULL;
    END IF;
    IF was_sale THEN
        PERFORM reports_sum_flow(OLD.organization_id, OLD.currency, OLD.issue_date, -OLD.total, 0);
    END IF;
    IF is_sale THEN
        PERFORM reports_sum_flow(NEW.organization_id, NEW.currency, NEW.issue_date, NEW.total, 0);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION reports_sum_payment_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_dailyflow (organization_id, currency, day, invoiced, collected)
    SELECT organization_id, currency, received_date, 0, sum(amount) FROM new_rows
    WHERE reversal_entry_id IS NULL GROUP BY organization_id, currency, received_date
    {COLLECTED_UPSERT};
    RETURN NULL;
END $$;

CREATE FUNCTION reports_sum_payment_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.reversal_entry_id IS NULL THEN
        PERFORM reports_sum_flow(OLD.organization_id, OLD.currency, OLD.received_date, 0, -OLD.amount);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.reversal_entry_id IS NULL THEN
        PERFORM reports_sum_flow(NEW.organization_id, NEW.currency, NEW.received_date, 0, NEW.amount);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER reports_sum_invoice_insert AFTER INSERT ON invoicing_invoice
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_sum_invoice_rows();
CREATE TRIGGER reports_sum_invoice_update AFTER UPDATE ON invoicing_invoice FOR EACH ROW
    WHEN (OLD.amount_due IS DISTINCT FROM NEW.amount_due OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.due_date IS DISTINCT FROM NEW.due_date OR OLD.issue_date IS DISTINCT FROM NEW.issue_date
          OR OLD.total IS DISTINCT FROM NEW.total OR OLD.currency IS DISTINCT FROM NEW.currency)
    EXECUTE FUNCTION reports_sum_invoice_change();
CREATE TRIGGER reports_sum_invoice_delete AFTER DELETE ON invoicing_invoice FOR EACH ROW
    WHEN (OLD.status <> 'draft') EXECUTE FUNCTION reports_sum_invoice_change();
CREATE TRIGGER reports_sum_payment_insert AFTER INSERT ON payments_payment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_sum_payment_rows();
CREATE TRIGGER reports_sum_payment_update AFTER UPDATE ON payments_payment FOR EACH ROW
    WHEN (OLD.reversal_entry_id IS DISTINCT FROM NEW.reversal_entry_id OR OLD.amount IS DISTINCT FROM NEW.amount
          OR OLD.received_date IS DISTINCT FROM NEW.received_date OR OLD.currency IS DISTINCT FROM NEW.currency)
    EXECUTE FUNCTION reports_sum_payment_change();
CREATE TRIGGER reports_sum_payment_delete AFTER DELETE ON payments_payment FOR EACH ROW
    EXECUTE FUNCTION reports_sum_payment_change();
"""  # noqa: S608 - built from constants only

DROP = """
DROP TRIGGER IF EXISTS reports_sum_invoice_insert ON invoicing_invoice;
DROP TRIGGER IF EXISTS reports_sum_invoice_update ON invoicing_invoice;
DROP TRIGGER IF EXISTS reports_sum_invoice_delete ON invoicing_invoice;
DROP TRIGGER IF EXISTS reports_sum_payment_insert ON payments_payment;
DROP TRIGGER IF EXISTS reports_sum_payment_update ON payments_payment;
DROP TRIGGER IF EXISTS reports_sum_payment_delete ON payments_payment;
DROP FUNCTION IF EXISTS reports_sum_invoice_rows(), reports_sum_invoice_change(), reports_sum_payment_rows(),
    reports_sum_payment_change(), reports_sum_open(bigint, text, date, numeric, integer),
    reports_sum_flow(bigint, text, date, numeric, numeric);
"""

REBUILD = """
INSERT INTO reports_openbyduedate (organization_id, currency, due_date, amount, count)
SELECT organization_id, currency, due_date, sum(amount_due), count(*) FROM invoicing_invoice
WHERE status = 'issued' AND amount_due > 0 GROUP BY organization_id, currency, due_date;
INSERT INTO reports_dailyflow (organization_id, currency, day, invoiced, collected)
SELECT organization_id, currency, day, sum(invoiced), sum(collected) FROM (
    SELECT organization_id, currency, issue_date AS day, total AS invoiced, 0 AS collected
        FROM invoicing_invoice WHERE status = 'issued'
    UNION ALL SELECT organization_id, currency, received_date, 0, amount
        FROM payments_payment WHERE reversal_entry_id IS NULL
) AS flows GROUP BY organization_id, currency, day;
"""


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_summaries")]

    operations = [
        rls_for("reports_openbyduedate"),
        rls_for("reports_dailyflow"),
        migrations.RunSQL(FUNCTIONS, DROP),
        migrations.RunSQL(REBUILD, "DELETE FROM reports_openbyduedate; DELETE FROM reports_dailyflow;"),
    ]
