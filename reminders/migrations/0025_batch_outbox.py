"""Issue 12 (one e-mail table): a consolidated reminder's e-mail moves to invoicing's one outbox table
(kind "reminder_batch"); the batch keeps its domain facts (customer, day, tone) and points at it.

Every batch gets its e-mail row with the same recipients (its ", "-joined list, split), subject, body,
Message-ID, status, attempts, lease, error, result and sent time. The batch's seal now reads those
fields through the e-mail row in the very same text (reminders.seals.REMINDER_BATCH), so the seals
made before still verify; a sent batch's e-mail row is also sealed as a delivery-log record when it is
written. The batch's frozen guard (by its own status) is dropped before the move and replaced after it
by a guard that reads its e-mail's status (accounts.signals.CHILD_TABLES); its seal trigger likewise,
plus one on the outbox that seals the batch when its e-mail is sent."""

import importlib

import django.db.models.deletion
from django.db import migrations, models

from accounts.frozen import child_sql, frozen_sql
from accounts.seals import trigger_sql
from reminders.seals import REMINDER_BATCH, sealed_on_send_sql

BEFORE = importlib.import_module("reminders.migrations.0021_seal_sent_reminders").REMINDER_BATCH
TABLE = "reminders_reminderbatch"
MOVED = (
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "lease_until",
    "claim_token",
    "message_id",
    "subject",
    "body",
    "sent_at",
    "result",
)
MAX_ATTEMPTS = 7  # the reminder outboxes' (reminders.models.OUTBOX: six delays, seven attempts)


def _drop(sql: migrations.RunSQL) -> migrations.RunSQL:
    """An operation run backwards: what `sql` made is dropped going forward and made again going back."""
    return migrations.RunSQL(sql.reverse_sql, sql.sql)


def move_emails(apps, schema_editor):
    batches = apps.get_model("reminders", "ReminderBatch")
    emails = apps.get_model("invoicing", "EmailDelivery")
    for batch in batches.objects.order_by("pk"):
        email = emails.objects.create(
            organization_id=batch.organization_id,
            customer_id=batch.customer_id,
            kind="reminder_batch",
            max_attempts=MAX_ATTEMPTS,
            created_at=batch.created_at,
            recipients=batch.to_emails.split(", ") if batch.to_emails else [],
            **{name: getattr(batch, name) for name in MOVED},
        )
        batches.objects.filter(pk=batch.pk).update(email=email)
    # Fire the deferred checks and seal triggers now: the columns are altered next, in this transaction.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def move_back(apps, schema_editor):
    batches = apps.get_model("reminders", "ReminderBatch")
    for batch in batches.objects.select_related("email").order_by("pk"):
        email = batch.email
        batches.objects.filter(pk=batch.pk).update(
            to_emails=", ".join(email.recipients), **{name: getattr(email, name) for name in MOVED}
        )
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0031_reminder_batch_outbox"),
        ("reminders", "0024_one_outbox"),
    ]

    operations = [
        _drop(frozen_sql(TABLE, state="status", editable=("pending", "sending", "failed"))),
        _drop(trigger_sql(BEFORE)),
        migrations.AddField(
            model_name="reminderbatch",
            name="email",
            field=models.OneToOneField(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="invoicing.emaildelivery"
            ),
        ),
        migrations.RunPython(move_emails, move_back),
        migrations.RemoveIndex(model_name="reminderbatch", name="reminder_batch_claimable"),
        *[migrations.RemoveField(model_name="reminderbatch", name=name) for name in MOVED + ("to_emails",)],
        migrations.AlterField(
            model_name="reminderbatch",
            name="email",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="invoicing.emaildelivery"
            ),
        ),
        trigger_sql(REMINDER_BATCH),
        sealed_on_send_sql(REMINDER_BATCH, "reminder_batch"),
        child_sql(
            TABLE,
            parent="invoicing_emaildelivery",
            fk="email_id",
            state="status",
            editable=("pending", "sending", "failed"),
            operations=("UPDATE",),
        ),
    ]
