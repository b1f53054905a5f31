"""Issue 12 (one e-mail table): a notification digest's e-mail moves to invoicing's one outbox
table (kind "digest"); the digest keeps its domain facts (organization, user, day) and points at it.
Every existing digest gets its e-mail row with the same recipient, subject, body, Message-ID,
status, attempts, lease and error; a sent one is sealed by the delivery log's own seal when its row
is written (digests were not sealed before, so no existing seal changes)."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ("status", "attempts", "last_error", "next_attempt_at", "lease_until", "claim_token", "message_id",
         "subject", "body", "sent_at", "result")


def move_emails(apps, schema_editor):
    digests = apps.get_model("reminders", "NotificationDigest")
    emails = apps.get_model("invoicing", "EmailDelivery")
    for digest in digests.objects.order_by("pk"):
        email = emails.objects.create(
            organization_id=digest.organization_id, kind="digest", max_attempts=7, created_at=digest.created_at,
            recipients=[digest.to_emails] if digest.to_emails else [],
            **{name: getattr(digest, name) for name in MOVED})
        digests.objects.filter(pk=digest.pk).update(email=email)
    # Fire the deferred checks and seal triggers now: the columns are altered next, in this transaction.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def move_back(apps, schema_editor):
    digests = apps.get_model("reminders", "NotificationDigest")
    for digest in digests.objects.select_related("email").order_by("pk"):
        email = digest.email
        digests.objects.filter(pk=digest.pk).update(to_emails=", ".join(email.recipients),
                                                    **{name: getattr(email, name) for name in MOVED})
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('invoicing', '0029_one_outbox'),
        ('reminders', '0023_notification_digests'),
    ]

    operations = [
        migrations.AddField(
            model_name='notificationdigest',
            name='email',
            field=models.OneToOneField(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='invoicing.emaildelivery'),
        ),
        migrations.RunPython(move_emails, move_back),
        migrations.RemoveIndex(
            model_name='notificationdigest',
            name='notification_digest_claimable',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='attempts',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='body',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='claim_token',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='last_error',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='lease_until',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='message_id',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='next_attempt_at',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='result',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='sent_at',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='status',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='subject',
        ),
        migrations.RemoveField(
            model_name='notificationdigest',
            name='to_emails',
        ),
            migrations.AlterField(
            model_name='notificationdigest',
            name='email',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='invoicing.emaildelivery'),
        ),
    ]
