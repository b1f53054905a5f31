"""Issue 19 item 1: files attached to a dispute (DisputeAttachment), stored in the database like stored
PDFs: tenant row-level security and composite tenant keys like every tenant table, append-only (the
journal's refuse-change triggers) and sealed when added (reminders.seals.DISPUTE_ATTACHMENT)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from accounts.frozen import append_only_sql
from accounts.rls import rls_for
from accounts.seals import trigger_sql
from accounts.tenant_keys import CoverTenantForeignKeys
from reminders.seals import DISPUTE_ATTACHMENT


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0038_seal_period_lock_events"),
        ("reminders", "0025_batch_outbox"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DisputeAttachment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("filename", models.CharField(max_length=120)),
                (
                    "content_type",
                    models.CharField(
                        choices=[("application/pdf", "PDF"), ("image/png", "PNG"), ("image/jpeg", "JPEG")],
                        max_length=20,
                    ),
                ),
                ("size", models.PositiveIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("content", models.BinaryField()),
                ("from_customer", models.BooleanField()),
                ("link_id", models.BigIntegerField(blank=True, null=True)),
                ("ip", models.GenericIPAddressField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "dispute",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="attachments", to="reminders.dispute"
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.organization"
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "pk"],
                "constraints": [
                    models.UniqueConstraint(fields=("dispute", "sha256"), name="dispute_attachment_once"),
                    models.CheckConstraint(condition=models.Q(("size__gt", 0)), name="dispute_attachment_not_empty"),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("from_customer", True), ("uploaded_by__isnull", True)),
                            models.Q(("from_customer", False), ("uploaded_by__isnull", False)),
                            _connector="OR",
                        ),
                        name="dispute_attachment_uploader",
                    ),
                ],
            },
        ),
        rls_for("reminders_disputeattachment"),
        CoverTenantForeignKeys(),
        append_only_sql("reminders_disputeattachment"),
        trigger_sql(DISPUTE_ATTACHMENT),
    ]
