"""Issue 19 item 4: a policy may send one e-mail per customer a day (ReminderBatch); RLS and
composite tenant keys like every tenant table."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from accounts.rls import rls_for
from accounts.tenant_keys import CoverTenantForeignKeys


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0022_search_indexes'),
        ('reminders', '0015_invoice_overdue_event'),
    ]

    operations = [
        migrations.AddField(
            model_name='reminderpolicy',
            name='one_message_per_customer',
            field=models.BooleanField(default=False, help_text="On a day when several of a customer's invoices reach a step, send one e-mail listing them all (in the firmest tone among them) with the statement attached, instead of one e-mail each.", verbose_name='one e-mail per customer a day'),
        ),
        migrations.CreateModel(
            name='ReminderBatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('status', models.CharField(choices=[('pending', 'Waiting to send'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('skipped', 'Skipped'), ('cancelled', 'Cancelled')], default='pending', max_length=10)),
                ('tone', models.CharField(choices=[('friendly', 'Friendly'), ('firm', 'Firm'), ('final', 'Final')], default='friendly', max_length=10)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('lease_until', models.DateTimeField(blank=True, null=True)),
                ('claim_token', models.CharField(blank=True, max_length=36)),
                ('message_id', models.CharField(blank=True, max_length=200)),
                ('to_emails', models.CharField(blank=True, max_length=500)),
                ('subject', models.CharField(blank=True, max_length=300)),
                ('body', models.TextField(blank=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('result', models.CharField(blank=True, max_length=500)),
                ('last_error', models.CharField(blank=True, max_length=500)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.customer')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organization')),
            ],
            options={
                'ordering': ['-day', '-pk'],
            },
        ),
        migrations.AddField(
            model_name='remindermessage',
            name='batch',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='messages', to='reminders.reminderbatch'),
        ),
        migrations.AddIndex(
            model_name='reminderbatch',
            index=models.Index(condition=models.Q(('status__in', ['pending', 'sending'])), fields=['organization', 'next_attempt_at'], name='reminder_batch_claimable'),
        ),
        migrations.AddConstraint(
            model_name='reminderbatch',
            constraint=models.UniqueConstraint(fields=('organization', 'customer', 'day'), name='reminder_batch_once_per_customer_and_day'),
        ),
        rls_for("reminders_reminderbatch"),
        CoverTenantForeignKeys(),
    ]
