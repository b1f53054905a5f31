"""The django-q2 schedule that runs the reminder scan every 15 minutes.

A data migration, so a fresh database (and the test database) has it without any extra step.
The cluster is configured with catch_up=False: after downtime it runs the scan once, not once per
missed quarter hour; the scan's own catch-up rule then decides what is sent.
"""

from django.db import migrations
from django.utils import timezone

NAME = "reminders: scan"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "reminders.tasks.run_scan", "schedule_type": "I", "minutes": 15, "repeats": -1,
                  "next_run": timezone.now()},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("reminders", "0002_rls_and_scan_index"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
