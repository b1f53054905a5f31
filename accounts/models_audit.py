"""The audit log of master data and settings (accounts.audit): one row per created, changed or
deleted customer, organization, membership or invoice-settings row, written by the database."""

from django.conf import settings
from django.db import models

from accounts.models_org import Organization


class AuditEvent(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+",
                              db_constraint=False)  # people are never deleted; no lock on the user row per write
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    table_name = models.CharField(max_length=63)
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=6)  # insert, update, delete
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    changed = models.JSONField(default=list)  # the columns that differ

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-at"], name="audit_by_org_time"),
            models.Index(fields=["organization", "table_name", "object_id", "-at"], name="audit_by_object"),
        ]

    def __str__(self):
        return f"{self.action} {self.table_name} {self.object_id}"
