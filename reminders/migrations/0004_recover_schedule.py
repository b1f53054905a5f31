"""The django-q2 schedule that recovers outbox rows of a dead sender every minute (issue 22)."""

from django.db import migrations
from django.utils import timezone

NAME = "reminders: recover"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "reminders.tasks.recover_outbox", "schedule_type": "I", "minutes": 1, "repeats": -1,
                  "next_run": timezone.now()},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("reminders", "0003_scan_schedule")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
