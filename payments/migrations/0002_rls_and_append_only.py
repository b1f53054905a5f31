from django.db import migrations

from accounts.rls import rls_for


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial"), ("accounts", "0004_ledger_append_only_and_rls")]

    operations = [
        rls_for("payments_payment"),
        rls_for("payments_allocation"),
        # Allocation rows are records, not edits: the same guard as the journal.
        migrations.RunSQL(
            """
            CREATE TRIGGER payments_allocation_no_update_delete BEFORE UPDATE OR DELETE ON payments_allocation
                FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
            CREATE TRIGGER payments_allocation_no_truncate BEFORE TRUNCATE ON payments_allocation
                FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
            """,
            """
            DROP TRIGGER payments_allocation_no_update_delete ON payments_allocation;
            DROP TRIGGER payments_allocation_no_truncate ON payments_allocation;
            """,
        ),
    ]
