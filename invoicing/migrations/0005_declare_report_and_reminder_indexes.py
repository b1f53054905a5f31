"""Indexes on this app's tables that reports (0002, 0008) and reminders (0002) created for their reads are declared by the
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
        ('invoicing', '0004_creditoverride_moves_here'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.AddIndex(
            model_name='creditnote',
            index=models.Index(condition=models.Q(django.db.models.lookups.Exact(django.db.models.expressions.CombinedExpression(models.F('total'), '-', models.F('amount_applied')), 0), _negated=True), fields=['organization', 'customer'], include=('currency', 'issue_date', 'total', 'amount_applied'), name='rep_creditnote_unapplied'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('amount_due__gt', 0), ('status', 'issued')), fields=['organization', 'due_date'], include=('customer', 'amount_due', 'issue_date', 'currency', 'id'), name='rep_invoice_open_due'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('status', 'draft'), _negated=True), fields=['organization', 'issue_date'], include=('total', 'currency', 'status', 'customer'), name='rep_invoice_issued_day'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['id'], include=('organization', 'customer', 'currency', 'issue_date', 'due_date', 'total', 'status', 'void_entry'), name='rep_invoice_id_cover'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('amount_due__gt', 0), ('kind', 'invoice'), ('status', 'issued')), fields=['organization', 'due_date'], include=('customer',), name='reminders_open_invoice_due'),
        ),
    ])]
