"""Set-based sealing (issue 14): `ledger_seal_rows`, the seal chain's rule for many rows of one
statement at once; the owning apps' migrations move their insert-time seal triggers onto it."""

from django.db import migrations

from accounts.seals import DROP_SEAL_ROWS_FUNCTION, SEAL_ROWS_FUNCTION


class Migration(migrations.Migration):
    dependencies = [("accounts", "0028_journal_line_base_amount")]

    operations = [migrations.RunSQL(SEAL_ROWS_FUNCTION, DROP_SEAL_ROWS_FUNCTION)]
