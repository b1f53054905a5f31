"""Issue 13: each reminder message is sealed once sent (reminders.seals.REMINDER; frozen from then on
since reminders 0004), and each consolidated reminder e-mail is frozen once it leaves the outbox
and sealed once sent (REMINDER_BATCH); the ones already sent are sealed by the migration."""

from django.db import migrations

from accounts.frozen import frozen_sql
from accounts.seals import backfill_sql, trigger_sql
from reminders.seals import REMINDER, REMINDER_BATCH


class Migration(migrations.Migration):
    dependencies = [('reminders', '0020_cover_plan_keys'), ("invoicing", "0018_seal_quotes_deliveries_overrides"),
                    ("accounts", "0029_frozen_final_states")]

    operations = [
        frozen_sql("reminders_reminderbatch", state="status", editable=("pending", "sending", "failed")),
        trigger_sql(REMINDER), backfill_sql(REMINDER), trigger_sql(REMINDER_BATCH), backfill_sql(REMINDER_BATCH),
    ]
