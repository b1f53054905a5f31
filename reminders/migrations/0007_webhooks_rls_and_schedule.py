"""Row-level security on the webhook tables, and the per-minute schedule that delivers them."""

from django.db import migrations
from django.utils import timezone

from accounts.rls import rls_for

TABLES = ["reminders_webhookendpoint", "reminders_webhookdelivery", "reminders_webhookattempt"]
NAME = "webhooks: deliver"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={"func": "reminders.tasks.deliver_webhooks", "schedule_type": "I", "minutes": 1, "repeats": -1,
                  "next_run": timezone.now()},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("reminders", "0006_webhooks")]

    operations = [rls_for(table) for table in TABLES] + [migrations.RunPython(create_schedule, remove_schedule)]
