"""Issue 12 (one e-mail table): the delivery log becomes the outbox of every kind of e-mail. A kind
sent by its owner's scheduled run (first: reminders' notification digests, kind "digest") waits as
*pending* with a due time and may end *cancelled*; what happened is said in `result`; a claim index
like the reminder outboxes'. Such a message is fixed at its first attempt, so the frozen guard now
reads `guard_state` (a stored generated column): "unfixed" while a pending or sending row of such a
kind has no Message-ID yet (anything may be written, as on the reminder tables before their first attempt),
else the status; the guard checks each row after it is written (a generated column is computed
after BEFORE triggers run). A document e-mail is never unfixed, so it stays frozen from the start except its
delivery progress (plus `result`), and every row is frozen for good once sent and sealed, as before."""

from django.conf import settings
from django.db import migrations, models

from accounts.frozen import frozen_sql

TABLE = "invoicing_emaildelivery"
BEFORE = ("status", "attempts", "max_attempts", "last_error", "next_attempt_at", "message_id", "sent_at",
          "document_id", "pdf_sha256", "lease_until", "claim_token")
AFTER = BEFORE + ("result", "guard_state")
DROP = f"DROP TRIGGER {TABLE}_frozen ON {TABLE}; DROP TRIGGER {TABLE}_frozen_truncate ON {TABLE};"


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0038_seal_period_lock_events'),
        ('invoicing', '0028_delivery_html_body'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='emaildelivery',
            name='result',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='emaildelivery',
            name='guard_state',
            field=models.GeneratedField(db_persist=True, expression=models.Case(models.When(models.Q(('kind__in', ('digest',)), ('message_id', ''), ('status__in', ['pending', 'sending'])), then=models.Value('unfixed')), default=models.F('status')), output_field=models.CharField(max_length=10)),
        ),
        migrations.AlterField(
            model_name='emaildelivery',
            name='kind',
            field=models.CharField(choices=[('invoice', 'Invoice'), ('statement', 'Statement'), ('reminder', 'Reminder'), ('quote', 'Quote'), ('report', 'Report'), ('digest', 'Notification digest')], max_length=20),
        ),
        migrations.AlterField(
            model_name='emaildelivery',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('retrying', 'Failed, will retry'), ('sent', 'Sent'), ('failed', 'Failed'), ('pending', 'Waiting to send'), ('cancelled', 'Cancelled')], default='queued', max_length=10),
        ),
        migrations.AddIndex(
            model_name='emaildelivery',
            index=models.Index(condition=models.Q(('status__in', ['pending', 'sending'])), fields=['organization', 'next_attempt_at'], name='email_delivery_claimable'),
        ),
        migrations.RunSQL(DROP + frozen_sql(TABLE, state="guard_state", editable=("unfixed",), mutable=AFTER,
                                     final=("sent",), after=True).sql,
                          DROP + frozen_sql(TABLE, state="status", mutable=BEFORE, final=("sent",)).sql),
    ]
