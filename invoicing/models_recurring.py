"""Recurring invoices: a schedule per customer with its template lines, and one run row per
billed period. Imported at the bottom of invoicing/models.py so Django registers the models.

Each period is billed at most once: `RecurringRun` is unique per (organization, schedule,
period date), and the run (invoicing.recurring) holds the schedule's row lock while it bills.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, Organization
from invoicing.models import DocumentLine, Invoice


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


class RunAction(models.TextChoices):
    DRAFT = "draft", _("Create a draft for review")
    ISSUE = "issue", _("Issue")
    SEND = "send", _("Issue and e-mail")


LAST_DAY = 0  # day_of_month: the last day of the month


class RecurringSchedule(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="recurring_schedules")
    name = models.CharField(_("name"), max_length=100)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY)
    interval = models.PositiveSmallIntegerField(_("every"), default=1,
                                                validators=[MinValueValidator(1), MaxValueValidator(24)])
    # Monthly, quarterly and yearly: 1–31 (a day past the month's end bills on its last day) or 0,
    # the last day. Weekly schedules run on the start date's weekday.
    day_of_month = models.PositiveSmallIntegerField(_("day of the month"), default=1,
                                                    validators=[MaxValueValidator(31)])
    start_date = models.DateField(_("first invoice on or after"))
    end_date = models.DateField(_("last invoice on or before"), null=True, blank=True)
    max_count = models.PositiveIntegerField(_("stop after this many invoices"), null=True, blank=True,
                                            validators=[MinValueValidator(1)])
    action = models.CharField(_("on each run"), max_length=10, choices=RunAction.choices, default=RunAction.ISSUE)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30,
                                                          validators=[MaxValueValidator(3650)])
    reference = models.CharField(_("reference / PO number"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), max_length=5000, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(name="recurring_end_after_start",
                                   condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date"))),
            models.CheckConstraint(name="recurring_day_of_month_range", condition=Q(day_of_month__lte=31)),
            models.CheckConstraint(name="recurring_interval_positive", condition=Q(interval__gte=1)),
        ]

    def __str__(self):
        return self.name

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class RecurringLine(DocumentLine):
    """A schedule's line (the one line rule, invoicing.models.DocumentLine): amounts are worked out
    on each invoice it creates, at the rate's percent of that day."""

    schedule = models.ForeignKey(RecurringSchedule, on_delete=models.CASCADE, related_name="lines")


class RunStatus(models.TextChoices):
    CREATED = "created", _("Draft created")
    ISSUED = "issued", _("Issued")
    SENT = "sent", _("Issued and queued for e-mail")
    SKIPPED = "skipped", _("Skipped")


class RecurringRun(models.Model):
    """One billed (or skipped) period of a schedule: at most one per period date."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    schedule = models.ForeignKey(RecurringSchedule, on_delete=models.CASCADE, related_name="runs")
    period_date = models.DateField()  # the scheduled date of the period (the invoice's issue date)
    period_end = models.DateField()
    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    message = models.CharField(max_length=500, blank=True)
    ran_at = models.DateTimeField(default=timezone.now)
    caught_up = models.BooleanField(default=False)  # billed after its day (the worker was down)

    class Meta:
        ordering = ["-period_date"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "schedule", "period_date"],
                                    name="recurring_run_once_per_period"),
        ]

    def __str__(self):
        return f"{self.schedule_id} {self.period_date} {self.status}"
