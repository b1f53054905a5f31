"""Credit overrides are the audit trail of credit control: append-only, enforced by the database for
every role with the journal's guard (ledger_refuse_change, accounts 0004). Nothing in the product
updates or deletes them; their foreign keys are PROTECT, so no ORM cascade reaches them either."""

from django.db import migrations

TABLE = "reports_creditoverride"


class Migration(migrations.Migration):
    dependencies = [("reports", "0010_paid_invoices_rls_triggers"), ("accounts", "0004_ledger_append_only_and_rls")]

    operations = [
        migrations.RunSQL(
            f"""
            CREATE TRIGGER {TABLE}_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
                FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
            CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
                FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
            """,
            f"""
            DROP TRIGGER {TABLE}_no_update_delete ON {TABLE};
            DROP TRIGGER {TABLE}_no_truncate ON {TABLE};
            """,
        ),
    ]
