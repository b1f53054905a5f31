"""Set-based sealing (issue 14): `ledger_seal_rows`, the seal chain's rule for many rows of one
statement at once; the owning apps' migrations move their insert-time seal triggers onto it."""

from django.db import migrations

from accounts.seals import DROP_SEAL_ROWS_FUNCTION, SEAL_ROWS_FUNCTION


class Migration(migrations.Migration):
    dependencies = [('accounts', '0030_narrow_organizations_and_queue')]

    operations = [migrations.RunSQL(SEAL_ROWS_FUNCTION, DROP_SEAL_ROWS_FUNCTION)]
