"""The application's database role, and row-level security on the tenant tables."""

from django.conf import settings
from django.db import migrations

from accounts.rls import USER_SETTING, rls_for


def create_app_role(apps, schema_editor):
    """A login role that is neither superuser nor BYPASSRLS: RLS applies to it."""
    quote = schema_editor.connection.ops.quote_name
    role, password = settings.APP_DB_USER, settings.APP_DB_PASSWORD
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(
                f"CREATE ROLE {quote(role)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                " PASSWORD %s",
                [password],
            )
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quote(role)}")
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
        cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {quote(database)} TO {quote(role)}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.RunPython(create_app_role, migrations.RunPython.noop),
        rls_for("accounts_customer"),
        rls_for("accounts_invitation"),
        rls_for("accounts_membership"),
        # People see their own memberships in every organization (to sign in and switch).
        migrations.RunSQL(
            f"CREATE POLICY member_sees_own ON accounts_membership FOR SELECT"
            f" USING (user_id = {USER_SETTING});",
            "DROP POLICY member_sees_own ON accounts_membership;",
        ),
    ]
