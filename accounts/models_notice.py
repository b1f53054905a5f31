"""Change notices (accounts.notices): one row per audit event whose change was e-mailed to the
owners (sent_at None: nobody to send to, or the migration's baseline, the point from which an
organization's events are noticed at all)."""

from django.db import models

from accounts.models_audit import AuditEvent
from accounts.models_org import Organization


class ChangeNotice(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    audit_event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(null=True)  # None: a baseline, nothing was sent
    recipients = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-audit_event"], name="notice_by_org_event")]

    def __str__(self):
        return f"notice of audit event {self.audit_event_id}"
