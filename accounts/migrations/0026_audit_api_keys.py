"""API keys join the audit log (issue 13 item 6): created and revoked, with before and after.
Their usage bookkeeping (last use, rate-limit window) changes on every request and their secret's
hash is not worth keeping twice: ledger_audit() now takes such "quiet" columns as arguments."""

from django.db import migrations

from accounts.audit import FUNCTION, audit_sql

API_KEY_QUIET = ("secret_hash", "last_used_at", "last_used_ip", "window_start", "window_count")


class Migration(migrations.Migration):

    dependencies = [("accounts", "0025_verified_customer_figures")]

    operations = [
        migrations.RunSQL(FUNCTION, migrations.RunSQL.noop),
        audit_sql("accounts_apikey", quiet=API_KEY_QUIET),
    ]
