"""Issue 13: each period-lock event (closing, reopening, moving the books start; append-only since
accounts 0009's period lock) is sealed into the organization's seal chain (accounts.seals,
PERIOD_LOCK); the existing ones by the migration, oldest first."""

from django.db import migrations

from accounts.seals import PERIOD_LOCK, backfill_sql, trigger_sql


class Migration(migrations.Migration):
    dependencies = [("accounts", "0037_revaluation_lines")]

    operations = [trigger_sql(PERIOD_LOCK), backfill_sql(PERIOD_LOCK)]
