"""The django-q2 schedule that runs verify_ledger for every organization every night
(accounts.tasks.verify_all). A data migration, so every database has it."""

from django.db import migrations
from django.utils import timezone

NAME = "accounts: verify ledgers"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "accounts.tasks.verify_all", "schedule_type": "D", "repeats": -1,
                  "next_run": timezone.now().replace(hour=2, minute=30, second=0, microsecond=0)},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_audit_log"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
