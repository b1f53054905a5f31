"""The paid invoice's total on its reports_paidinvoice row (issue 20: payment behaviour over all time).

Payment behaviour summed `total` from invoicing_invoice, one lookup per paid invoice (a million at
full size). An issued invoice's total is frozen (invoicing 0004), so the row written when the invoice
becomes paid can carry it: the triggers of 0010 write it from now on, existing rows are filled from
their invoices, and the organization's index by paid day covers it (an index-only read).
"""

from django.db import migrations, models

PAID = "{r}.status = 'issued' AND {r}.amount_due = 0 AND {r}.amount_paid > 0 AND {r}.amount_written_off = 0"


def functions(with_total: bool) -> str:
    """0010's two row-writing functions, with or without the total column."""
    col, new_col, n_col = (", total", ", NEW.total", ", n.total") if with_total else ("", "", "")
    return f"""
CREATE OR REPLACE FUNCTION reports_paid_invoice_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_paidinvoice (organization_id, invoice_id, customer_id, currency, issue_date, due_date, paid_on{col})
    SELECT n.organization_id, n.id, n.customer_id, n.currency, n.issue_date, n.due_date,
           coalesce(s.last_day, n.issue_date){n_col}
    FROM new_rows n LEFT JOIN reports_itemspan s ON s.kind = 'i' AND s.item_id = n.id
    WHERE {PAID.format(r="n")}
    ON CONFLICT (invoice_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION reports_paid_invoice_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_paid boolean := {PAID.format(r="OLD")};
    is_paid boolean := {PAID.format(r="NEW")};
BEGIN
    IF was_paid AND NOT is_paid THEN
        DELETE FROM reports_paidinvoice WHERE invoice_id = OLD.id;
    ELSIF is_paid AND NOT was_paid THEN
        INSERT INTO reports_paidinvoice (organization_id, invoice_id, customer_id, currency, issue_date, due_date,
                                         paid_on{col})
        SELECT NEW.organization_id, NEW.id, NEW.customer_id, NEW.currency, NEW.issue_date, NEW.due_date,
               coalesce((SELECT last_day FROM reports_itemspan WHERE kind = 'i' AND item_id = NEW.id),
                        NEW.issue_date){new_col}
        ON CONFLICT (invoice_id) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
"""  # noqa: S608 - built from constants only


BACKFILL = """
UPDATE reports_paidinvoice p SET total = i.total FROM invoicing_invoice i WHERE i.id = p.invoice_id AND p.total <> i.total
"""


class Migration(migrations.Migration):
    dependencies = [("reports", "0024_aging_snapshots_rls_triggers")]

    operations = [
        migrations.AddField(
            model_name="paidinvoice",
            name="total",
            field=models.DecimalField(decimal_places=3, default=0, max_digits=18),
        ),
        migrations.RunSQL(functions(True), functions(False)),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RemoveIndex(model_name="paidinvoice", name="reports_paid_org_day"),
        migrations.AddIndex(
            model_name="paidinvoice",
            index=models.Index(
                fields=["organization", "paid_on"],
                include=["customer_id", "currency", "issue_date", "due_date", "total"],
                name="reports_paid_org_day",
            ),
        ),
    ]
