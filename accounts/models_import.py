"""Imports: the saved column mappings and each import's job (file, mapping, report, progress)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models_org import Organization


class ImportMapping(models.Model):
    """A column mapping saved per organization and kind, offered again for the next file."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(default=dict)  # field name → column name
    options = models.JSONField(default=dict)  # chosen date formats and decimal separators per column
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "kind", "name"],
                                               name="import_mapping_unique_name")]

    def __str__(self):
        return f"{self.kind}: {self.name}"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    CHECKING = "checking", _("Checking")
    CHECKED = "checked", _("Checked")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30)
    filename = models.CharField(max_length=255)
    content = models.BinaryField(editable=False)  # the file as uploaded (at most IMPORT_MAX_BYTES)
    sha256 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=20, blank=True)  # chosen; empty: detected
    delimiter = models.CharField(max_length=2, blank=True)
    mapping = models.JSONField(default=dict)
    options = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    report = models.JSONField(null=True, blank=True)  # the last dry run's (or the commit's) Report
    checked_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_phase = models.CharField(max_length=10, blank=True)
    message = models.CharField(max_length=1000, blank=True)  # why it failed
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self):
        return f"{self.kind} import of {self.filename}"

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, int(100 * self.progress_done / self.progress_total))

    @property
    def is_active(self) -> bool:
        return self.status in (ImportStatus.CHECKING, ImportStatus.QUEUED, ImportStatus.RUNNING)
