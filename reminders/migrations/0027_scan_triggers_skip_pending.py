"""Issue 19 item 4 (the consolidated scan): triggers that had nothing to do for a pending outbox row are
no longer called for one. EXPLAIN ANALYZE of the scan's grouping statement at 1,000,000 invoices: the
frozen guard of reminder messages took 11.7 of its 23.4 ms (248 rows joining their e-mails of the day),
returning each row unchanged because a pending row is still editable; the seal triggers of messages and
e-mails ran a query per new pending row that found nothing to seal. (The consolidated e-mails' own triggers
moved with their e-mails into invoicing's outbox in reminders 0025 and are not touched here.)"""

from django.db import migrations

from accounts.frozen import frozen_skip_editable_sql
from accounts.seals import seal_only_when_sealed_sql
from reminders.seals import REMINDER


class Migration(migrations.Migration):
    dependencies = [("reminders", "0026_dispute_attachments")]

    operations = [
        seal_only_when_sealed_sql(REMINDER),
        frozen_skip_editable_sql(
            "reminders_remindermessage", state="status", editable=("pending", "sending", "failed")
        ),
    ]
