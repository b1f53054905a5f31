"""The organization's bank accounts join the audit log (accounts.audit's trigger): a changed IBAN
is logged with who and from where, and e-mailed to the owners (accounts.notices)."""

from django.db import migrations

from accounts.audit import audit_sql


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0007_merge_20261207_0320'),
        ('accounts', '0010_audit_log'),
    ]

    operations = [
        audit_sql("payments_bankaccount"),
    ]
