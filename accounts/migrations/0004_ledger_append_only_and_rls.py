"""The journal is append-only, enforced by the database for every role, and the ledger's
tables are tenant tables under row-level security."""

from django.db import migrations

from accounts.rls import rls_for

JOURNAL_TABLES = ["accounts_journalentry", "accounts_journalline"]

FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Correct a mistake with a reversal entry.';
END;
$$;
"""


def triggers(table):
    return migrations.RunSQL(
        f"""
        CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
        """,
        f"""
        DROP TRIGGER {table}_no_update_delete ON {table};
        DROP TRIGGER {table}_no_truncate ON {table};
        """,
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_ledger")]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION ledger_refuse_change();"),
        *[triggers(t) for t in JOURNAL_TABLES],
        rls_for("accounts_account"),
        rls_for("accounts_ledgerhead"),
        rls_for("accounts_journalentry"),
        rls_for("accounts_journalline"),
        rls_for("accounts_customerbalance"),
        rls_for("accounts_accountdaytotal"),
    ]
