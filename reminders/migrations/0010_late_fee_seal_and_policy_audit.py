"""Late-fee charges join the seal chain (reminders.seals) and become append-only: a charge is
written once, with its fee document, and never changed (reminders.late_fees). Reminder policies
and their steps (where late fees are set) join the audit log (accounts.audit)."""

from django.db import migrations

from accounts.audit import audit_sql
from accounts.frozen import append_only_sql
from accounts.seals import backfill_sql, trigger_sql
from reminders.seals import LATE_FEE_CHARGE


class Migration(migrations.Migration):
    dependencies = [("reminders", "0009_webhook_customer_updated"), ("accounts", "0007_seal_chain"),
                    ("invoicing", "0005_seal_triggers"), ("accounts", "0010_audit_log")]

    operations = [trigger_sql(LATE_FEE_CHARGE), backfill_sql(LATE_FEE_CHARGE),
                  append_only_sql("reminders_latefeecharge"),
                  audit_sql("reminders_reminderpolicy"), audit_sql("reminders_reminderstep")]
