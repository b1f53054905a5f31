"""Issue 19 item 4 (the consolidated scan): triggers that had nothing to do for a pending outbox row are
no longer called for one. EXPLAIN ANALYZE of the scan's grouping statement at 1,000,000 invoices: the
frozen guard of reminder messages took 11.7 of its 23.4 ms (248 rows joining their e-mails of the day),
returning each row unchanged because a pending row is still editable; the seal triggers of messages and
e-mails ran a query per new pending row that found nothing to seal."""

from django.db import migrations

from accounts.frozen import frozen_skip_editable_sql
from accounts.seals import seal_only_when_sealed_sql
from reminders.seals import REMINDER, REMINDER_BATCH


class Migration(migrations.Migration):
    dependencies = [("reminders", "0025_dispute_attachments")]

    operations = [
        seal_only_when_sealed_sql(REMINDER),
        seal_only_when_sealed_sql(REMINDER_BATCH),
        frozen_skip_editable_sql(
            "reminders_remindermessage", state="status", editable=("pending", "sending", "failed")
        ),
        frozen_skip_editable_sql("reminders_reminderbatch", state="status", editable=("pending", "sending", "failed")),
    ]
