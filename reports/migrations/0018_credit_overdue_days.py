"""Credit control's overdue threshold moves from reports' settings to the organization
(accounts.credit_terms.overdue_days, its one home): each organization keeps the threshold it chose."""

from django.db import migrations

TO_ORGANIZATION = """
UPDATE accounts_organization o SET credit_overdue_days = r.credit_overdue_days
FROM reports_reportsettings r
WHERE r.organization_id = o.id AND o.credit_overdue_days IS DISTINCT FROM r.credit_overdue_days
"""
BACK_TO_REPORTS = """
UPDATE reports_reportsettings r SET credit_overdue_days = o.credit_overdue_days
FROM accounts_organization o WHERE r.organization_id = o.id
"""


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0032_credit_overdue_days"),
        ('reports', '0017_customer_open_rls_triggers'),
    ]

    operations = [
        migrations.RunSQL(TO_ORGANIZATION, BACK_TO_REPORTS),
        migrations.RemoveField(
            model_name="reportsettings",
            name="credit_overdue_days",
        ),
    ]
