"""Issue 13: each reminder message is sealed once sent (reminders.seals.REMINDER; frozen from then on
since reminders 0004), and each consolidated reminder e-mail is frozen once it leaves the outbox
and sealed once sent (REMINDER_BATCH); the ones already sent are sealed by the migration."""

from django.db import migrations

from accounts.frozen import frozen_sql
from accounts.seals import SealKind, backfill_sql, instant, iso, trigger_sql
from reminders.seals import REMINDER

# The consolidated reminder's seal as it was made here, on the batch table's own e-mail columns
# (reminders 0025 moved them to invoicing's outbox and reads them there, in the same text).
REMINDER_BATCH = SealKind(
    kind="reminder_batch", table="reminders_reminderbatch", noun="the consolidated reminder",
    sealed_when="d.status = 'sent'", update_of="status",
    label="'reminder e-mail #' || d.id || ' of ' || " + iso("d.day"),
    content=f"""concat_ws('|', 'reminder-batch-v1', d.customer_id, {iso('d.day')}, d.status, d.tone, d.to_emails,
        d.subject, d.body, d.message_id, {instant('d.sent_at')})""",
)


class Migration(migrations.Migration):
    dependencies = [('reminders', '0020_cover_plan_keys'), ("invoicing", "0018_seal_quotes_deliveries_overrides"),
                    ("accounts", "0029_frozen_final_states")]

    operations = [
        frozen_sql("reminders_reminderbatch", state="status", editable=("pending", "sending", "failed")),
        trigger_sql(REMINDER), backfill_sql(REMINDER), trigger_sql(REMINDER_BATCH), backfill_sql(REMINDER_BATCH),
    ]
