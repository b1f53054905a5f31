"""Bulk jobs whose worker died are resumed or stopped with a reason (issue 21): the claim count,
the heartbeat, the recoveries, and the django-q2 schedule that sweeps every two minutes."""

from django.db import migrations, models
from django.utils import timezone

NAME = "invoicing: recover bulk jobs"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "invoicing.bulk_jobs.sweep_stalled",
            "schedule_type": "I",
            "minutes": 2,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0032_invoice_event_disputed_index"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.AddField("bulkjob", "claims", models.PositiveSmallIntegerField(default=0)),
        migrations.AddField("bulkjob", "recoveries", models.PositiveSmallIntegerField(default=0)),
        migrations.AddField("bulkjob", "heartbeat_at", models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
