"""Issue 12 (one e-mail table): consolidated reminders (kind "reminder_batch") become rows of the
outbox, sent by reminders' own run like digests. Their message is written again until sent (the list
is what is still due when it goes out), so `guard_state` reads "unfixed" for such a row while it is
pending, sending or failed, as the batch table's own frozen guard allowed (reminders 0025 moves them).
A stored generated column cannot be altered in place: it is dropped and added with the new rule
(no row trigger fires on either)."""

from django.db import migrations, models

AFTER = models.GeneratedField(
    db_persist=True,
    expression=models.Case(
        models.When(
            models.Q(("kind__in", ("reminder_batch",)), ("status__in", ["pending", "sending", "failed"]))
            | models.Q(
                ("kind__in", ("digest", "reminder_batch")), ("message_id", ""), ("status__in", ["pending", "sending"])
            ),
            then=models.Value("unfixed"),
        ),
        default=models.F("status"),
    ),
    output_field=models.CharField(max_length=10),
)


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0030_open_by_customer_covers_amounts"),
    ]

    operations = [
        migrations.RemoveField(model_name="emaildelivery", name="guard_state"),
        migrations.AddField(model_name="emaildelivery", name="guard_state", field=AFTER),
        migrations.AlterField(
            model_name="emaildelivery",
            name="kind",
            field=models.CharField(
                choices=[
                    ("invoice", "Invoice"),
                    ("statement", "Statement"),
                    ("reminder", "Reminder"),
                    ("quote", "Quote"),
                    ("report", "Report"),
                    ("digest", "Notification digest"),
                    ("reminder_batch", "Consolidated reminder"),
                ],
                max_length=20,
            ),
        ),
    ]
