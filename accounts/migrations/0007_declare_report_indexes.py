"""Indexes on this app's tables that reports (0002, 0007) created for their reads are declared by the
owning model (Meta.indexes) from now on. State only: the indexes exist already, unchanged."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0008_asof_cover_indexes'),
        ('reminders', '0002_rls_and_scan_index'),
        ('accounts', '0006_organization_timezone'),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(models.F('organization'), django.db.models.functions.text.Lower('name'), models.F('id'), name='rep_customer_lower_name'),
        ),
        migrations.AddIndex(
            model_name='customerbalance',
            index=models.Index(fields=['organization', 'currency', 'amount'], name='rep_customerbalance_amount'),
        ),
    ])]
