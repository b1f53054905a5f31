"""The django-q2 schedule that runs the incremental ledger check every five minutes
(accounts.tasks.verify_recent); the full check stays nightly (0011). A data migration, so every
database has it."""

from django.db import migrations
from django.utils import timezone

NAME = "accounts: verify recent postings"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "accounts.tasks.verify_recent", "schedule_type": "I", "minutes": 5, "repeats": -1,
                  "next_run": timezone.now()},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0013_verification_history"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
