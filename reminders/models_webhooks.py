"""Webhooks: an organization's endpoints, the outbox of deliveries to them, and every attempt.

A business event (invoicing.hooks.EVENT_HOOKS) writes one WebhookDelivery per active endpoint that
subscribed to it, in the transaction of the event itself; the sender (reminders/webhooks.py)
claims, posts and marks them like the reminder outbox does, with leases in database time.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization


class WebhookEvent(models.TextChoices):
    INVOICE_ISSUED = "invoice.issued", _("Invoice issued")
    INVOICE_PAID = "invoice.paid", _("Invoice paid in full")
    INVOICE_VOIDED = "invoice.voided", _("Invoice voided")
    INVOICE_OVERDUE = "invoice.overdue", _("Invoice overdue (once, the day after its due date)")
    PAYMENT_RECORDED = "payment.recorded", _("Payment recorded")
    PAYMENT_REVERSED = "payment.reversed", _("Payment reversed")
    CREDIT_NOTE_ISSUED = "credit_note.issued", _("Credit note issued")
    CUSTOMER_CREATED = "customer.created", _("Customer created")
    CUSTOMER_UPDATED = "customer.updated", _("Customer updated")
    REMINDER_SENT = "reminder.sent", _("Reminder sent")
    DISPUTE_OPENED = "dispute.opened", _("Dispute opened")
    DISPUTE_RESOLVED = "dispute.resolved", _("Dispute resolved")
    LEDGER_CHECKPOINT = "ledger.checkpoint", _("Signed ledger checkpoint (nightly)")


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=100, blank=True)
    # The signing secret: kept (the sender needs it), shown to the owner once, at creation.
    secret = models.CharField(max_length=80)
    # After a rotation the old secret still signs (a second v1) until it retires, so the receiver
    # can switch without losing a delivery.
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    events = models.JSONField(default=list)  # WebhookEvent values
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "url"], name="webhook_endpoint_unique_url")]

    def __str__(self):
        return self.url

    @property
    def secret_hint(self) -> str:
        return self.secret[:10]

    def event_labels(self) -> list[str]:
        labels = dict(WebhookEvent.choices)
        return [str(labels.get(e, e)) for e in self.events]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one endpoint: the body is fixed when the row is written, so every attempt (and
    a resend) sends the very same bytes, and the event id lets the receiver drop duplicates."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=40, choices=WebhookEvent.choices)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=36, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    resend_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "delivery_id"],
                                               name="webhook_delivery_unique_id")]
        indexes = [
            models.Index(fields=["organization", "next_attempt_at"], name="webhook_claimable",
                         condition=Q(status__in=["pending", "sending"])),
            models.Index(fields=["endpoint", "created_at"], name="webhook_by_endpoint"),
        ]

    def __str__(self):
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"


class OverdueAnnouncement(models.Model):
    """invoice.overdue was announced for this invoice: at most once per invoice, ever (the unique key
    is the guard; reminders/overdue_events.py writes it in the transaction of the outbox rows)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.OneToOneField("invoicing.Invoice", on_delete=models.CASCADE, related_name="+")
    due_date = models.DateField()
    announced_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"invoice {self.invoice_id} announced overdue at {self.announced_at:%Y-%m-%d %H:%M}"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: when, the status code (none if no response), time, error."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
