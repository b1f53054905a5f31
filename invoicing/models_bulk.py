"""A bulk action over every invoice matching a list's filters, run by the worker (issue 21).

`BulkJob` is the job: who started it, the action, the list's query string (the filter is applied
again when the job runs), its progress (done / total) and how it ended. `BulkJobRow` is one
outcome per invoice, kept for the result summary and its CSV. A row names its invoice by id and
label, not by foreign key: "delete drafts" removes the invoice the row reports on.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization


class BulkJobStatus(models.TextChoices):
    QUEUED = "queued", _("waiting for the worker")
    RUNNING = "running", _("running")
    DONE = "done", _("finished")
    FAILED = "failed", _("stopped")


class BulkJob(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20)
    query = models.CharField(max_length=2000, blank=True)  # the list's filters, re-encoded
    params = models.JSONField(default=dict, blank=True)  # what an action needs besides the rows (a reason)
    # The confirmation form's key: two clicks (or a resubmission) find the first job instead of a second.
    token = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=BulkJobStatus.choices, default=BulkJobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)  # invoices matching when the job ran
    done = models.PositiveIntegerField(default=0)  # of them, looked at so far
    succeeded = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    # Recovery of a worker that died (bulk_jobs.sweep_stalled): `claims` counts the claims (each
    # worker's chunks commit only while the count is still its own), `heartbeat_at` is the last
    # chunk's commit, `recoveries` how often the sweep re-queued the job after its worker stopped.
    claims = models.PositiveSmallIntegerField(default=0)
    recoveries = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "token"], name="bulk_job_once_per_token")]

    def __str__(self):
        return f"bulk {self.action} #{self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (BulkJobStatus.DONE, BulkJobStatus.FAILED)

    @property
    def percent(self) -> int:
        return 100 if self.finished or not self.total else min(100, self.done * 100 // self.total)


class BulkJobRow(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="rows")
    invoice_id = models.BigIntegerField()
    label = models.CharField(max_length=60)  # the number, or "Draft #n"
    customer = models.CharField(max_length=200, blank=True)
    ok = models.BooleanField()
    note = models.CharField(max_length=500)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "job", "invoice_id"],
                                               name="bulk_job_row_once")]

    def __str__(self):
        return f"{self.label}: {'done' if self.ok else 'not done'}"
