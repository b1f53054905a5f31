from django.db import migrations

from accounts.rls import rls_for


class Migration(migrations.Migration):
    dependencies = [("payments", "0004_bank_accounts_statements")]

    operations = [
        rls_for("payments_bankaccount"),
        rls_for("payments_statementimport"),
        rls_for("payments_bankline"),
        rls_for("payments_banklineevent"),
        # A line's history is a record, not an edit: the same guard as the journal.
        migrations.RunSQL(
            """
            CREATE TRIGGER payments_banklineevent_no_update_delete BEFORE UPDATE OR DELETE ON payments_banklineevent
                FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
            CREATE TRIGGER payments_banklineevent_no_truncate BEFORE TRUNCATE ON payments_banklineevent
                FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
            """,
            """
            DROP TRIGGER payments_banklineevent_no_update_delete ON payments_banklineevent;
            DROP TRIGGER payments_banklineevent_no_truncate ON payments_banklineevent;
            """,
        ),
    ]
