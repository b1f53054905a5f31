"""Indexes on this app's tables that reports (0002, 0006, 0008) created for their reads are declared by the
owning model (Meta.indexes) from now on. State only: the indexes exist already, unchanged."""

import django.db.models.expressions
import django.db.models.lookups
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0008_asof_cover_indexes'),
        ('reminders', '0002_rls_and_scan_index'),
        ('accounts', '0007_declare_report_indexes'),
        ('invoicing', '0005_declare_report_and_reminder_indexes'),
        ('payments', '0003_refund_submission'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.AddIndex(
            model_name='allocation',
            index=models.Index(condition=models.Q(('payment__isnull', False)), fields=['payment', 'effective_date'], include=('amount',), name='rep_allocation_payment_day'),
        ),
        migrations.AddIndex(
            model_name='allocation',
            index=models.Index(condition=models.Q(('credit_note__isnull', False)), fields=['credit_note', 'effective_date'], include=('amount',), name='rep_allocation_credit_day'),
        ),
        migrations.AddIndex(
            model_name='allocation',
            index=models.Index(fields=['invoice', 'effective_date'], include=('amount', 'organization'), name='rep_allocation_invoice_cover'),
        ),
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(fields=['organization', 'received_date'], include=('amount', 'currency', 'customer', 'reversal_entry'), name='rep_payment_received_day'),
        ),
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(condition=models.Q(django.db.models.lookups.Exact(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.Case(models.When(reversal_entry__isnull=True, then=models.F('amount')), default=models.Value(0), output_field=models.DecimalField()), '-', models.F('amount_allocated')), '-', models.F('amount_refunded')), 0), _negated=True), fields=['organization', 'customer'], include=('currency', 'received_date', 'amount', 'amount_allocated', 'amount_refunded', 'reversal_entry'), name='rep_payment_unapplied'),
        ),
    ])]
