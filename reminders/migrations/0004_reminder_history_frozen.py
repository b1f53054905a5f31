"""Reminder history: a message in the outbox changes until it is sent, skipped or cancelled;
then it is history, frozen by the database (accounts.frozen). No message is ever deleted."""

from django.db import migrations

from accounts.frozen import frozen_sql


class Migration(migrations.Migration):
    dependencies = [("reminders", "0003_scan_schedule"), ("accounts", "0006_frozen_guard_functions")]

    operations = [
        frozen_sql("reminders_remindermessage", state="status", editable=("pending", "sending", "failed")),
    ]
