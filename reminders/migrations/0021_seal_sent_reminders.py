"""Issue 13: each reminder message is sealed once sent (reminders.seals.REMINDER); the ones already
sent are sealed by the migration. (They are frozen from then on since reminders 0004.)"""

from django.db import migrations

from accounts.seals import backfill_sql, trigger_sql
from reminders.seals import REMINDER


class Migration(migrations.Migration):
    dependencies = [("reminders", "0020_cover_plan_keys"), ("invoicing", "0018_seal_quotes_deliveries_overrides")]

    operations = [trigger_sql(REMINDER), backfill_sql(REMINDER)]
