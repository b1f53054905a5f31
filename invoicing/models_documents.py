"""Documents sent to customers: stored PDFs, the e-mail delivery log, signed public links.

Imported at the bottom of invoicing/models.py so Django registers these models with the app.

StoredDocument keeps rendered PDFs *in the database* (bytea), not in MEDIA_ROOT: the bytes then
sit under the same row-level security as the invoice they belong to, they are in every backup
and restore together with the rows that refer to them, they appear and disappear in the same
transaction as those rows (no orphan files, no missing files), and serving one is a single
indexed SELECT. An invoice PDF is 20–200 KB, well inside what bytea handles comfortably.

EmailDelivery is deliberately not invoice-specific: `kind` says what was sent and the invoice
and customer links are nullable, so statements (customer, no invoice) and reminders (invoice,
kind "reminder") use the same log, the same sending task and the same retry policy
(invoicing.mail.queue_delivery). It is also the outbox row of messages that another app sends on
its own schedule (issue 12: one e-mail table): a staff notification digest (kind "digest",
reminders.digests) is a *pending* row with a due time, claimed by its owner's delivery run on the
one engine (ledger_site.outbox), while the owner's row (reminders.NotificationDigest) keeps only
its domain facts and points here.
"""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, Organization
from invoicing.models import Invoice


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")
    STATEMENT = "statement", _("Statement")
    QUOTE = "quote", _("Quote")
    REPORT = "report", _("Report")  # a scheduled report e-mail's attachment (reports.subscriptions)


class StoredDocument(models.Model):
    """One rendered PDF, immutable. `state_key` is the SHA-256 of everything the rendering
    depended on (template version, the issued snapshot, the amounts, status, paper size, logo):
    the same state is rendered once and then served from here; a new payment makes a new state
    and so a new row, while earlier rows (what was sent) stay."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="documents")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    state_key = models.CharField(max_length=64)
    filename = models.CharField(max_length=120)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "state_key"], name="stored_document_state_unique"),
        ]
        indexes = [models.Index(fields=["invoice", "-created_at"], name="stored_document_by_invoice")]

    def __str__(self):
        return f"{self.filename} ({self.sha256[:12]})"


class DeliveryKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    STATEMENT = "statement", _("Statement")
    REMINDER = "reminder", _("Reminder")
    QUOTE = "quote", _("Quote")
    REPORT = "report", _("Report")  # a scheduled report to a member (reports.subscriptions)
    DIGEST = "digest", _("Notification digest")  # a member's daily digest (reminders.digests)
    # a customer's one reminder e-mail of a day, listing their invoices at a step (reminders.batches)
    REMINDER_BATCH = "reminder_batch", _("Consolidated reminder")


# Kinds sent by their owner's scheduled run (invoicing.outgoing.queue_scheduled), whose message is
# fixed at the first attempt; every other kind is written with its message.
SCHEDULED_KINDS = (DeliveryKind.DIGEST, DeliveryKind.REMINDER_BATCH)
# Scheduled kinds whose message is written again until it is sent (not only at the first attempt): a
# consolidated reminder lists what is still due when it goes out, so a retry after an invoice dropped
# out (or joined) renders it anew, with a new Message-ID (reminders.batches).
REWRITTEN_UNTIL_SENT = (DeliveryKind.REMINDER_BATCH,)


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    RETRYING = "retrying", _("Failed, will retry")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Rows sent by their owner's scheduled run when due (queue_scheduled), not by invoicing's task:
    # waiting for their time (retries come back here), or given up by the owner before sending.
    PENDING = "pending", _("Waiting to send")
    CANCELLED = "cancelled", _("Cancelled")


class EmailDelivery(models.Model):
    """One e-mail to a customer and what became of it: the delivery log."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=DeliveryKind.choices)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="email_deliveries")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # kind "quote": the quote e-mailed (invoicing.quotes.queue_quote_email), its PDF in `document`.
    quote = models.ForeignKey("invoicing.Quote", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="email_deliveries")
    document = models.ForeignKey(StoredDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    body = models.TextField(max_length=10000)
    # An HTML alternative of `body` (scheduled report e-mails); empty: the e-mail is plain text.
    html_body = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The one outbox engine's claim (ledger_site.outbox): a lease in database time and whose claim it is.
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=36, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)  # of the PDF attached to what was sent
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=500, blank=True)  # what happened, in words (scheduled kinds)
    # What the frozen guard (accounts.frozen) reads as the row's state: "unfixed" while a scheduled
    # kind's message is not fixed yet (pending or sending, no Message-ID: its first attempt writes
    # recipients, subject and body; a consolidated reminder's until it is sent), else the status. A
    # document e-mail is never unfixed: it is frozen from the start except its delivery progress;
    # every row is frozen for good once sent.
    guard_state = models.GeneratedField(
        expression=Case(When(Q(kind__in=REWRITTEN_UNTIL_SENT, status__in=["pending", "sending", "failed"])
                             | Q(kind__in=SCHEDULED_KINDS, status__in=["pending", "sending"], message_id=""),
                             then=Value("unfixed")), default=F("status")),
        output_field=models.CharField(max_length=10), db_persist=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(name="email_delivery_invoice_kind_has_invoice",
                                   condition=~Q(kind__in=["invoice", "reminder"]) | Q(invoice__isnull=False)),
            models.CheckConstraint(name="email_delivery_sent_has_time",
                                   condition=~Q(status="sent") | Q(sent_at__isnull=False)),
        ]
        indexes = [
            models.Index(fields=["invoice", "-created_at"], name="email_delivery_by_invoice"),
            models.Index(fields=["organization", "status"], name="email_delivery_by_status"),
            models.Index(fields=["organization", "next_attempt_at"], name="email_delivery_claimable",
                         condition=Q(status__in=["pending", "sending"])),
        ]

    def __str__(self):
        return f"{self.kind} to {', '.join(self.recipients)}: {self.status}"

    @property
    def recipient_list(self) -> str:
        return ", ".join(self.recipients)

    @property
    def can_retry(self) -> bool:
        return self.status in (DeliveryStatus.FAILED, DeliveryStatus.RETRYING)


class PublicLink(models.Model):
    """A customer's link to one invoice, opened without signing in (invoicing.public).

    The URL token is signed with SECRET_KEY and carries the organization id, this row's id and
    its random nonce; the row is only ever looked up inside that organization's tenant context.
    Revoking sets `revoked_at`; a new link gets a new nonce, so the old URL stays dead."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="public_links")
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice"], condition=Q(revoked_at__isnull=True),
                                    name="public_link_one_active_per_invoice"),
        ]

    def __str__(self):
        return f"link to invoice {self.invoice_id}{' (revoked)' if self.revoked_at else ''}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
