"""The trigger functions that freeze issued documents (accounts.frozen)."""

from django.db import migrations

from accounts.frozen import DROP_FUNCTIONS, FUNCTIONS


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_drop_redundant_ledger_indexes")]

    operations = [migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS)]
