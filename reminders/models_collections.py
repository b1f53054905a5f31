"""Collections (issue 19): what the customer says back, and what staff do with it.

* `Dispute`: one row per dispute, never overwritten: a new dispute is a new row; resolving one
  keeps it with its outcome and note. The invoice's own hold columns (invoicing's rule home for
  "disputed", `Invoice.disputed_*`) are kept in step by reminders.disputes, nothing else.
* `DisputeMessage`: the thread of a dispute (customer through the portal, staff).
* `DisputeAttachment`: a file on a dispute (a delivery note, a photo), kept in the database like
  stored PDFs, append-only and sealed (reminders.attachments has the rules).
* `PortalAction`: every action taken through the customer's link, with time and address; its
  unique (organization, key) is what makes a double submit do one thing.
* `BalanceAssertion`: the customer confirmed (or contested) the balance shown as of a date; the
  ledger re-checks it later (reminders.portal.recheck).
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, Organization
from invoicing.models import Invoice
from invoicing.models_documents import EmailDelivery

AMOUNT = {"max_digits": 18, "decimal_places": 3}


class DisputeReason(models.TextChoices):
    WRONG_AMOUNT = "wrong_amount", _("The amount or price is wrong")
    NOT_RECEIVED = "not_received", _("Goods or services not received")
    QUALITY = "quality", _("Goods damaged or service not as agreed")
    ALREADY_PAID = "already_paid", _("Already paid")
    DUPLICATE = "duplicate", _("Billed twice")
    OTHER = "other", _("Something else")


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting for customer")
    RESOLVED = "resolved", _("Resolved")


class DisputeOutcome(models.TextChoices):
    CREDIT_NOTE = "credit_note", _("Credit note issued")
    REJECTED = "rejected", _("Rejected with explanation")
    CORRECTED = "corrected", _("Corrected invoice")
    WITHDRAWN = "withdrawn", _("Withdrawn by the customer")


class Source(models.TextChoices):
    PORTAL = "portal", _("Customer, through the link")
    STAFF = "staff", _("Staff")


class Dispute(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="disputes")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=DisputeReason.choices)
    amount = models.DecimalField(_("disputed amount"), **AMOUNT)
    line_ids = ArrayField(models.IntegerField(), default=list, blank=True)  # disputed lines, if by line
    whole = models.BooleanField(default=False)  # the whole amount due when raised
    message = models.TextField(_("message"), max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    outcome = models.CharField(max_length=12, choices=DisputeOutcome.choices, blank=True)
    resolution_note = models.TextField(max_length=2000, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "status", "created_at"], name="dispute_queue"),
                   models.Index(fields=["invoice"], name="dispute_by_invoice")]
        constraints = [
            models.CheckConstraint(name="dispute_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="dispute_resolved_has_note", condition=~Q(status="resolved") | (
                ~Q(outcome="") & ~Q(resolution_note="") & Q(resolved_at__isnull=False))),
        ]

    def __str__(self):
        return f"dispute {self.pk} on {self.invoice_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status != DisputeStatus.RESOLVED


class DisputeMessage(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="messages")
    from_customer = models.BooleanField(default=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(max_length=2000)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"message {self.pk} on dispute {self.dispute_id}"


class AttachmentType(models.TextChoices):
    # Decided from the file's first bytes only (reminders.attachments.sniff), never its name.
    PDF = "application/pdf", "PDF"
    PNG = "image/png", "PNG"
    JPEG = "image/jpeg", "JPEG"


class DisputeAttachment(models.Model):
    """A file attached to a dispute by the customer (through their link) or by staff. Never changed
    or deleted: the database refuses it (accounts.frozen.append_only_sql) and seals each row
    (reminders.seals.DISPUTE_ATTACHMENT)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(max_length=120)  # cleaned, with the extension of its real type
    content_type = models.CharField(max_length=20, choices=AttachmentType.choices)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    from_customer = models.BooleanField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    link_id = models.BigIntegerField(null=True, blank=True)  # the invoicing.PublicLink it came through
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # The same file twice on one dispute is a double submit, never new evidence.
            models.UniqueConstraint(fields=["dispute", "sha256"], name="dispute_attachment_once"),
            models.CheckConstraint(name="dispute_attachment_not_empty", condition=Q(size__gt=0)),
            models.CheckConstraint(name="dispute_attachment_uploader", condition=(
                Q(from_customer=True, uploaded_by__isnull=True) | Q(from_customer=False, uploaded_by__isnull=False))),
        ]

    def __str__(self):
        return f"{self.filename} on dispute {self.dispute_id}"


class PortalActionKind(models.TextChoices):
    DISPUTE = "dispute", _("Disputed an invoice")
    PROMISE = "promise", _("Promised to pay")
    CONFIRM = "confirm", _("Confirmed the balance")
    CONTEST = "contest", _("Contested the balance")
    STATEMENT = "statement", _("Downloaded the statement")
    MESSAGE = "message", _("Wrote about a dispute")
    PLAN = "plan", _("Accepted a payment plan")
    COPY = "copy", _("Asked for a copy of an invoice")


class PortalAction(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    link_id = models.BigIntegerField()  # the invoicing.PublicLink it came through
    kind = models.CharField(max_length=10, choices=PortalActionKind.choices)
    key = models.CharField(max_length=64, null=True, blank=True)  # the form's one-time key
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    summary = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "key"], condition=Q(key__isnull=False),
                                               name="portal_action_once")]
        indexes = [models.Index(fields=["customer", "at"], name="portal_action_by_customer")]

    def __str__(self):
        return f"{self.kind} by customer {self.customer_id} at {self.at}"


class BalanceAssertion(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="balance_assertions")
    as_of = models.DateField()
    balance = models.DecimalField(**AMOUNT)  # what the customer was shown
    currency = models.CharField(max_length=3)
    confirmed = models.BooleanField()  # False: contested
    note = models.CharField(max_length=1000, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{'confirmed' if self.confirmed else 'contested'} {self.balance} {self.currency} on {self.as_of}"


class Notification(models.Model):
    """A staff notification (the bell): a dispute the customer wrote about, a broken promise, a
    failed delivery. One row per user; read when opened."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=100)  # what it is about: once per user and key
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The e-mail digest that told the user about it (reminders.digests): at most one.
    digest = models.ForeignKey("NotificationDigest", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="notifications")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "user", "key"], name="notification_once")]
        indexes = [models.Index(fields=["user", "organization"], condition=Q(read_at__isnull=True),
                                name="notification_unread")]

    def __str__(self):
        return f"{self.kind} for {self.user_id}: {self.text}"


class DigestSubscription(models.Model):
    """This user wants a daily e-mail of their unread notifications in this organization
    (reminders.digests). No row: the bell only."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="digest_subscription_once")]

    def __str__(self):
        return f"digest for user {self.user_id} in organization {self.organization_id}"


class DigestManager(models.Manager):
    """A digest comes with its e-mail: what became of it is read there (one query, and in the tenant
    context the digest was read in)."""

    def get_queryset(self):
        return super().get_queryset().select_related("email")


class NotificationDigest(models.Model):
    """One day's e-mail of a user's unread notifications (reminders.digests): at most one per user,
    organization and day; its notifications point at it. The e-mail itself (recipient, subject,
    body, Message-ID, status, attempts, lease) is a row of invoicing's one outbox table (kind
    "digest", `email`), sent on the outbox engine like reminders; this row keeps the domain facts."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # the organization's local day
    created_at = models.DateTimeField(default=timezone.now)
    email = models.OneToOneField(EmailDelivery, on_delete=models.PROTECT, related_name="+")

    objects = DigestManager()

    class Meta:
        ordering = ["-day", "-pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "user", "day"],
                                               name="notification_digest_once_a_day")]

    def __str__(self):
        return f"digest {self.pk} for user {self.user_id} on {self.day}"

    # What became of the e-mail, read from the outbox row (one home for send state).
    @property
    def status(self) -> str:
        return self.email.status

    @property
    def message_id(self) -> str:
        return self.email.message_id

    @property
    def next_attempt_at(self):
        return self.email.next_attempt_at

    @property
    def sent_at(self):
        return self.email.sent_at
