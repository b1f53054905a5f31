"""Issue 19 item 4 (the consolidated scan): the seal triggers of reminder messages and consolidated
reminder e-mails fire only for a row that is sent. Every pending row the scan writes (and every e-mail
of the day it opens) called the trigger function, which ran a query that found nothing to seal."""

from django.db import migrations

from accounts.seals import seal_only_when_sealed_sql
from reminders.seals import REMINDER, REMINDER_BATCH


class Migration(migrations.Migration):
    dependencies = [("reminders", "0025_dispute_attachments")]

    operations = [seal_only_when_sealed_sql(REMINDER), seal_only_when_sealed_sql(REMINDER_BATCH)]
