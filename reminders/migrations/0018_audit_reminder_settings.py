"""The reminder settings join the audit log (issue 13 item 6): the organization's (send hour,
pause, portal switches, reply-to address; the scan's own last_scan_at is bookkeeping, not a change)
and each customer's (its policy, the do-not-remind hold)."""

from django.db import migrations

from accounts.audit import audit_sql


class Migration(migrations.Migration):

    dependencies = [("reminders", "0017_step_texts"), ("accounts", "0026_audit_api_keys")]

    operations = [
        audit_sql("reminders_remindersettings", quiet=("last_scan_at",)),
        audit_sql("reminders_customerremindersettings"),
    ]
