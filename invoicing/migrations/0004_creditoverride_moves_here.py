"""CreditOverride moves from reports to invoicing, which owns the credit check that writes it
(invoicing.credit_control). State only: the table keeps its name, rows, row-level security and
append-only triggers (reports 0001, 0011)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_organization_timezone'),
        ('invoicing', '0003_documents'),
        ('reports', '0011_creditoverride_append_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.CreateModel(
            name='CreditOverride',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.DecimalField(decimal_places=3, max_digits=18)),
                ('balance', models.DecimalField(decimal_places=3, max_digits=18)),
                ('credit_limit', models.DecimalField(decimal_places=3, max_digits=18)),
                ('problems', models.CharField(max_length=500)),
                ('reason', models.CharField(max_length=500)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('approved_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.customer')),
                ('invoice', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='invoicing.invoice')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organization')),
            ],
            options={
                'db_table': 'reports_creditoverride',
                'ordering': ['-created_at', '-pk'],
            },
        ),
    ])]
