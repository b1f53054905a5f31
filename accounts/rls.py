"""Row-level security for tenant tables, as migration operations.

Every table with an `organization_id` column gets `rls_for("<table>")` in its migration:
ENABLE and FORCE row-level security (FORCE so the table owner obeys it too) and a policy that
admits only rows of the organization in `app.organization_id`. tests/test_rls_coverage.py
fails for a table that lacks it.
"""

from django.db import migrations

ORG_SETTING = "NULLIF(current_setting('app.organization_id', true), '')::bigint"
USER_SETTING = "NULLIF(current_setting('app.user_id', true), '')::bigint"


def rls_for(table: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        sql=f"""
        ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
        ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON {table}
            USING (organization_id = {ORG_SETTING})
            WITH CHECK (organization_id = {ORG_SETTING});
        """,
        reverse_sql=f"""
        DROP POLICY IF EXISTS tenant_isolation ON {table};
        ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
        """,
    )
