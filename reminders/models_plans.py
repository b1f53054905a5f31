"""Payment plans and the contact log (issue 19 #7 and #6).

* `PaymentPlan`: an overdue balance (chosen open invoices of one customer, `PaymentPlanInvoice`) split
  into `Instalment`s whose amounts sum exactly to the plan's amount. Proposed by staff and accepted by
  the customer on their link, or agreed by staff directly. While *active* the covered invoices are held
  (reminders.holds, the one home for "held"); each instalment is reminded on its own date; a missed
  instalment breaks the plan (reminders.plans).
* `ContactLog`: a call (with its outcome and an optional follow-up date) or a note, logged by staff:
  part of the customer's activity log.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, Organization
from invoicing.models import Invoice

AMOUNT = {"max_digits": 18, "decimal_places": 3}


class PlanStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed, waiting for the customer")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    BROKEN = "broken", _("Broken: an instalment was missed")
    CANCELLED = "cancelled", _("Cancelled")


LIVE_STATUSES = (PlanStatus.PROPOSED, PlanStatus.ACTIVE)


class PaymentPlan(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.PROPOSED)
    grace_days = models.PositiveSmallIntegerField(_("days of grace per instalment"), default=3)
    note = models.CharField(_("note"), max_length=500, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Agreed: by staff (accepted_by) or by the customer on the link (accepted_ip, accepted_via = portal).
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_on = models.DateField(null=True, blank=True)  # the organization's day: payments count from it
    accepted_via = models.CharField(max_length=10, blank=True)  # staff / portal
    accepted_ip = models.GenericIPAddressField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "status"], name="plan_by_status"),
                   models.Index(fields=["customer", "status"], name="plan_by_customer")]
        constraints = [
            models.CheckConstraint(name="plan_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="plan_active_was_accepted",
                                   condition=Q(status="proposed") | Q(status="cancelled")
                                   | (Q(accepted_at__isnull=False) & Q(accepted_on__isnull=False))),
        ]

    def __str__(self):
        return f"payment plan {self.pk} of customer {self.customer_id} ({self.status})"


class PaymentPlanInvoice(models.Model):
    """An invoice the plan covers, with what was due on it when the plan was made."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="covered")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**AMOUNT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "invoice"], name="plan_invoice_once")]
        indexes = [models.Index(fields=["invoice"], name="plan_invoice_by_invoice")]

    def __str__(self):
        return f"plan {self.plan_id} covers {self.invoice_id}"


class Instalment(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    amount = models.DecimalField(**AMOUNT)
    outcome = models.CharField(max_length=10, blank=True)  # "", kept, missed (reminders.plans decides)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="instalment_once"),
                       models.CheckConstraint(name="instalment_amount_positive", condition=Q(amount__gt=0))]

    def __str__(self):
        return f"instalment {self.number} of plan {self.plan_id}: {self.amount} on {self.due_date}"


class ContactKind(models.TextChoices):
    CALL = "call", _("Call")
    NOTE = "note", _("Note")


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Spoke to them")
    PROMISED = "promised", _("They promised to pay")
    DISPUTED = "disputed", _("They dispute it")
    NO_ANSWER = "no_answer", _("No answer")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class ContactLog(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=ContactKind.choices, default=ContactKind.CALL)
    outcome = models.CharField(_("outcome"), max_length=15, choices=CallOutcome.choices, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    follow_up = models.DateField(_("follow up on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    key = models.CharField(max_length=64, null=True, blank=True)  # the form's one-time key

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "created_at"], name="contact_by_customer"),
                   models.Index(fields=["organization", "follow_up"], name="contact_follow_up",
                                condition=Q(follow_up__isnull=False))]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], condition=Q(key__isnull=False),
                                    name="contact_log_once"),
            models.CheckConstraint(name="contact_call_has_outcome",
                                   condition=Q(kind="note", outcome="") | (Q(kind="call") & ~Q(outcome=""))),
        ]

    def __str__(self):
        return f"{self.kind} with customer {self.customer_id} at {self.created_at}"
