"""Customers in case-insensitive name order (the aging report's default sort walks this index
and stops after its page)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("reports", "0006_unapplied_indexes")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX rep_customer_lower_name ON accounts_customer (organization_id, lower(name), id);",
            "DROP INDEX IF EXISTS rep_customer_lower_name;",
        ),
    ]
