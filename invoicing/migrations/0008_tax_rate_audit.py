"""Tax rates join the audit log (accounts.audit): who changed a rate, when, before and after."""

from django.db import migrations

from accounts.audit import audit_sql


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0007_merge_20261207_0320"), ("accounts", "0010_audit_log")]

    operations = [audit_sql("invoicing_taxrate")]
