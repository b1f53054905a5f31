"""Invoice settings (bank details, numbering, e-mail templates) go to the audit log (accounts.audit)."""

from django.db import migrations

from accounts.audit import audit_sql


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0005_seal_triggers"), ("accounts", "0010_audit_log")]

    operations = [audit_sql("invoicing_invoicesettings")]
