"""Set-based sealing without a query per row (issue 14, import speed): `ledger_seal_rows` asks once
per call which rows are sealed already and what their entries' hashes are, and inserts the records
in one statement. The chain's rule (what is hashed, in which order, under which lock) is unchanged."""

from django.db import migrations

from accounts.seals import SEAL_ROWS_FUNCTION, SEAL_ROWS_FUNCTION_SET


class Migration(migrations.Migration):
    dependencies = [("accounts", "0035_leakproof_search_operators")]

    operations = [migrations.RunSQL(SEAL_ROWS_FUNCTION_SET, SEAL_ROWS_FUNCTION)]
