"""Reminder policies, holds and the outbox of reminder messages.

The outbox is the state machine: one row per invoice and schedule point (its offset from the
due date), written by the scan before anything is sent, then claimed, sent and marked by the
sender (reminders/outbox.py). The unique key on (invoice, offset) is what makes a point fire at
most once per invoice, whatever runs twice.
"""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, Organization
from accounts.models_org import validate_timezone  # noqa: F401 (migration 0001 names it here)
from invoicing.models import Invoice
from invoicing.models_documents import EmailDelivery
from ledger_site.outbox import Outbox
from ledger_site.tenancy import organization_of
from reminders.policy import MAX_TEMPLATE_LENGTH, TemplateError, parse

AMOUNT = {"max_digits": 18, "decimal_places": 3}
MAX_FIXED_FEE = Decimal("10000")
MAX_FEE_PERCENT = Decimal("25")
MIN_OFFSET, MAX_OFFSET = -60, 365


def validate_template(value: str) -> None:
    try:
        parse(value)
    except TemplateError as e:
        raise ValidationError(str(e), code="template") from e


class ReminderSettings(models.Model):
    """Per organization: the earliest local hour to send, and the pause switch. The time zone is the
    organization's own (`Organization.timezone`), shared with every other "today"."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="reminder_settings")
    send_hour = models.PositiveSmallIntegerField(
        _("send from (local hour)"), default=8, validators=[MinValueValidator(0), MaxValueValidator(22)],
        help_text=_("Reminders due on a day go out from this hour, local time."))
    paused = models.BooleanField(_("pause all reminders"), default=False)
    paused_reason = models.CharField(_("why paused"), max_length=200, blank=True)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    # What the customer may do on their link (issue 19); each can be switched off.
    portal_disputes = models.BooleanField(_("customers may dispute an invoice from their link"), default=True)
    portal_promises = models.BooleanField(_("customers may promise to pay from their link"), default=True)
    portal_balance = models.BooleanField(_("customers may confirm or contest their balance"), default=True)
    portal_statement = models.BooleanField(_("customers may download their statement"), default=True)
    # Replies to reminders go here once the address is verified (a link e-mailed to it).
    reply_to = models.EmailField(_("reply-to address for reminders"), blank=True,
                                 help_text=_("Customers' replies reach this address. We e-mail it a link to confirm."))
    reply_to_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    promise_grace_days = models.PositiveSmallIntegerField(
        _("days of grace for a promise to pay"), default=3, validators=[MaxValueValidator(30)],
        help_text=_("A promise counts as kept when the payments applied by the promised date plus these days "
                    "cover the amount."))

    def __str__(self):
        return f"reminder settings of {self.organization_id}"

    @property
    def timezone(self) -> str:
        return organization_of(self).timezone

    @property
    def zone(self):
        return organization_of(self).zone


class ReminderPolicy(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="reminder_policies")
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default for customers without their own policy"), default=False)
    repeat_every_days = models.PositiveSmallIntegerField(
        _("then repeat every (days)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("After the last step, send its message again every N days. Leave empty for no repeats."))
    repeat_limit = models.PositiveSmallIntegerField(
        _("at most (repeats)"), default=0, validators=[MaxValueValidator(20)])
    one_message_per_customer = models.BooleanField(
        _("one e-mail per customer a day"), default=False,
        help_text=_("On a day when several of a customer's invoices reach a step, send one e-mail listing them all "
                    "(in the firmest tone among them) with the statement attached, instead of one e-mail each."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="reminder_policy_name_unique"),
            models.UniqueConstraint(fields=["organization"], condition=Q(is_default=True),
                                    name="reminder_policy_one_default"),
            models.CheckConstraint(name="reminder_policy_repeat_sane",
                                   condition=Q(repeat_limit__lte=20) & (Q(repeat_every_days__isnull=True)
                                                                        | Q(repeat_every_days__gte=1))),
        ]

    def __str__(self):
        return self.name


class Tone(models.TextChoices):
    FRIENDLY = "friendly", _("Friendly")
    FIRM = "firm", _("Firm")
    FINAL = "final", _("Final")


class FeeType(models.TextChoices):
    NONE = "none", _("No fee")
    FIXED = "fixed", _("Fixed amount")
    PERCENT = "percent", _("Percentage of the amount due")


class ReminderStep(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    policy = models.ForeignKey(ReminderPolicy, on_delete=models.CASCADE, related_name="steps")
    offset_days = models.SmallIntegerField(
        _("days from due date"), validators=[MinValueValidator(MIN_OFFSET), MaxValueValidator(MAX_OFFSET)],
        help_text=_("Negative: before the due date; 0: on the due date; positive: days overdue."))
    tone = models.CharField(_("tone"), max_length=10, choices=Tone.choices, default=Tone.FRIENDLY)
    subject = models.CharField(_("subject"), max_length=200, validators=[validate_template])
    body = models.TextField(_("body"), max_length=MAX_TEMPLATE_LENGTH, validators=[validate_template])
    attach_pdf = models.BooleanField(_("attach the invoice PDF"), default=False)
    # subject and body are in the organization's default language; the other languages' texts
    # (issue 17): {"de": {"subject": "…", "body": "…"}, …}. A customer whose language has none gets
    # subject/body (reminders.policy.step_text), and the policy editor warns about it.
    texts = models.JSONField(_("texts in other languages"), default=dict, blank=True)
    fee_type = models.CharField(_("late fee"), max_length=10, choices=FeeType.choices, default=FeeType.NONE)
    fee_value = models.DecimalField(_("fee (amount or %)"), null=True, blank=True, **AMOUNT)
    fee_cap = models.DecimalField(_("fee cap"), null=True, blank=True, **AMOUNT,
                                  help_text=_("For a percentage: the most one fee may be."))

    class Meta:
        ordering = ["offset_days"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "offset_days"], name="reminder_step_offset_unique"),
            models.CheckConstraint(
                name="reminder_step_fee_sane",
                condition=(Q(fee_type="none")
                           | Q(fee_type="fixed", fee_value__gt=0, fee_value__lte=MAX_FIXED_FEE)
                           | Q(fee_type="percent", fee_value__gt=0, fee_value__lte=MAX_FEE_PERCENT,
                               fee_cap__gt=0, fee_cap__lte=MAX_FIXED_FEE)),
            ),
        ]

    def __str__(self):
        return f"{self.policy_id} day {self.offset_days:+d}"

    def clean(self):
        errors = {}
        if self.fee_type == FeeType.NONE:
            self.fee_value, self.fee_cap = None, None
        elif self.fee_value is None or self.fee_value <= 0:
            errors["fee_value"] = _("A late fee must be more than zero.")
        elif self.fee_type == FeeType.FIXED:
            self.fee_cap = None
            if self.fee_value > MAX_FIXED_FEE:
                errors["fee_value"] = _("A fixed fee of more than %(max)s is refused.") % {"max": MAX_FIXED_FEE}
        elif self.fee_type == FeeType.PERCENT:
            if self.fee_value > MAX_FEE_PERCENT:
                errors["fee_value"] = _("A fee of more than %(max)s%% of the amount due is refused.") % {
                    "max": MAX_FEE_PERCENT}
            if self.fee_cap is None or self.fee_cap <= 0:
                errors["fee_cap"] = _("A percentage fee needs a cap above zero.")
            elif self.fee_cap > MAX_FIXED_FEE:
                errors["fee_cap"] = _("A cap of more than %(max)s is refused.") % {"max": MAX_FIXED_FEE}
        if errors:
            raise ValidationError(errors)


class CustomerReminderSettings(models.Model):
    """A customer's own policy (instead of the default) and the do-not-remind hold."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="reminder_settings")
    policy = models.ForeignKey(ReminderPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("reminder policy"), help_text=_("Empty: the default policy."))
    do_not_remind = models.BooleanField(_("do not send reminders"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    def __str__(self):
        return f"reminder settings of customer {self.customer_id}"


class PromiseToPay(models.Model):
    """A hold: the customer promised to pay by a date; no reminder goes out until that date has passed."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="promises")
    until = models.DateField(_("promised to pay by"))
    promised_by = models.CharField(_("who promised"), max_length=150)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    amount = models.DecimalField(_("amount promised"), null=True, blank=True, **AMOUNT)  # null: the amount due
    source = models.CharField(max_length=10, default="staff")  # staff / portal
    ip = models.GenericIPAddressField(null=True, blank=True)
    # Decided by reminders.promises from the invoice's allocations once the grace has passed.
    outcome = models.CharField(max_length=10, blank=True)  # "", kept, broken
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["invoice", "until"], condition=Q(cancelled_at__isnull=True),
                                name="promise_active_by_invoice")]

    def __str__(self):
        return f"promise on {self.invoice_id} until {self.until}"

    def is_active(self, today) -> bool:
        return self.cancelled_at is None and self.until >= today


class ReminderHold(models.Model):
    """A hold on an invoice's reminders until a day (reminders.holds.hold_reminders), e.g. placed
    by the invoices import's option on open invoices that were already overdue in the old books:
    no reminder goes out for the invoice until the day has passed; then the schedule resumes with
    the catch-up rule (the latest point due is sent once)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminder_holds")
    until = models.DateField(_("held until"))
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["invoice", "until"], condition=Q(released_at__isnull=True),
                                name="reminder_hold_active")]

    def __str__(self):
        return f"reminders of {self.invoice_id} held until {self.until}"


class OutboxKind(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    MANUAL = "manual", _("Sent by hand")
    INSTALMENT = "instalment", _("Payment plan instalment")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


# The delivery engine's data for the reminder outboxes (ledger_site.outbox): the per-invoice
# messages, the consolidated e-mails (ReminderBatch), whose messages go out with their batch, and
# staff's daily notification digests (reminders.digests). The last two's e-mails are rows of
# invoicing's one outbox table (kinds "reminder_batch" and "digest"; its other kinds are never "pending").
OUTBOX = Outbox(table="reminders_remindermessage", lease=timedelta(seconds=20),
                backoff=tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 240, 720)),  # after attempt 1, 2, ...
                where="AND x.batch_id IS NULL")
BATCH_OUTBOX = replace(OUTBOX, table="invoicing_emaildelivery", where="AND x.kind = 'reminder_batch'")
DIGEST_OUTBOX = replace(OUTBOX, table="invoicing_emaildelivery", where="AND x.kind = 'digest'")


class ReminderEmail(models.Model):
    """What a reminder e-mail carries on its way out, per-invoice or consolidated: the delivery engine's
    claim (attempts, next attempt, lease, claim token) and the message fixed at the first attempt."""

    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=36, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    to_emails = models.CharField(max_length=500, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=500, blank=True)  # what happened, in words
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True


class EmailManager(models.Manager):
    """A domain row comes with its e-mail: what became of it is read there (one query)."""

    def get_queryset(self):
        return super().get_queryset().select_related("email")


class ReminderBatch(models.Model):
    """One consolidated reminder e-mail: every invoice of a customer at a step on one day
    (`ReminderPolicy.one_message_per_customer`, reminders/batches.py). At most one per customer and
    day; its per-invoice ReminderMessage rows point at it and are marked sent with it. The e-mail
    itself (recipients, subject, body, Message-ID, status, attempts, lease, sent time) is a row of
    invoicing's one outbox table (kind "reminder_batch", `email`); this row keeps the domain facts,
    and the database freezes it by that e-mail's state (accounts.signals.CHILD_TABLES)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()  # the organization's local send day
    tone = models.CharField(max_length=10, choices=Tone.choices, default=Tone.FRIENDLY)
    created_at = models.DateTimeField(default=timezone.now)
    email = models.OneToOneField(EmailDelivery, on_delete=models.PROTECT, related_name="+")

    objects = EmailManager()

    class Meta:
        ordering = ["-day", "-pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "customer", "day"],
                                               name="reminder_batch_once_per_customer_and_day")]

    def __str__(self):
        return f"reminder e-mail {self.pk} to customer {self.customer_id} on {self.day} ({self.status})"

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        """Reloaded with its e-mail (in the tenant context of the call, not of a later read)."""
        if fields is None and from_queryset is None:
            from_queryset = type(self)._base_manager.select_related("email")
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)

    # What became of the e-mail, read from its outbox row (one home for the sending state).
    status = property(lambda self: self.email.status)
    get_status_display = property(lambda self: self.email.get_status_display)
    message_id = property(lambda self: self.email.message_id)
    subject = property(lambda self: self.email.subject)
    body = property(lambda self: self.email.body)
    to_emails = property(lambda self: self.email.recipient_list)
    attempts = property(lambda self: self.email.attempts)
    next_attempt_at = property(lambda self: self.email.next_attempt_at)
    sent_at = property(lambda self: self.email.sent_at)
    result = property(lambda self: self.email.result)
    last_error = property(lambda self: self.email.last_error)


class ReminderMessage(ReminderEmail):
    """One reminder in the outbox, from the moment it is due until it is sent (or given up)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=OutboxKind.choices, default=OutboxKind.SCHEDULED)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    step = models.ForeignKey(ReminderStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    offset_days = models.SmallIntegerField(null=True)  # the schedule point; null for a manual reminder
    repeat = models.PositiveSmallIntegerField(default=0)
    tone = models.CharField(max_length=10, choices=Tone.choices, default=Tone.FRIENDLY)
    due_at = models.DateTimeField()  # when the point became due (local send hour on its day)
    created_at = models.DateTimeField(default=timezone.now)
    # Delivery (ReminderEmail's fields): the sender claims a row (pending -> sending) with a lease,
    # sends, marks it sent.
    amount_due = models.DecimalField(null=True, blank=True, **AMOUNT)  # as stated in the message
    late_fee = models.DecimalField(null=True, blank=True, **AMOUNT)
    late_fee_invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                            related_name="+")
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # manual sends: one per form
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Sent as one line of a consolidated e-mail (a policy's one_message_per_customer), not on its own.
    batch = models.ForeignKey(ReminderBatch, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="messages")

    class Meta:
        ordering = ["-due_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "offset_days"], condition=Q(kind="scheduled"),
                                    name="reminder_once_per_invoice_and_step"),
            models.UniqueConstraint(fields=["organization", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False), name="reminder_manual_once"),
            models.CheckConstraint(name="reminder_scheduled_has_offset",
                                   condition=Q(kind="manual") | Q(offset_days__isnull=False)),
        ]
        indexes = [
            models.Index(fields=["organization", "next_attempt_at"], name="reminder_claimable",
                         condition=Q(status__in=["pending", "sending"])),
            models.Index(fields=["organization", "due_at"], name="reminder_log"),
            models.Index(fields=["invoice", "offset_days"], name="reminder_by_invoice"),
        ]

    def __str__(self):
        return f"reminder {self.pk} for invoice {self.invoice_id} ({self.status})"

    @property
    def point_label(self) -> str:
        if self.offset_days is None:
            return str(_("manual"))
        sign = "+" if self.offset_days > 0 else ""
        return f"{sign}{self.offset_days}" + (f" (r{self.repeat})" if self.repeat else "")


class LateFeeCharge(models.Model):
    """The late-fee document posted for one invoice and schedule point: at most one, ever."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="late_fee_charges")
    offset_days = models.SmallIntegerField()
    fee_invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**AMOUNT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "offset_days"], name="late_fee_once_per_invoice_and_step"),
        ]

    def __str__(self):
        return f"late fee {self.amount} on {self.invoice_id} at {self.offset_days:+d}"


from reminders.models_collections import (  # noqa: E402,F401
    BalanceAssertion,
    DigestSubscription,
    Dispute,
    DisputeAttachment,
    DisputeMessage,
    Notification,
    NotificationDigest,
    PortalAction,
)
from reminders.models_plans import (  # noqa: E402,F401
    ContactLog,
    Instalment,
    PaymentPlan,
    PaymentPlanInvoice,
)
from reminders.models_webhooks import (  # noqa: E402,F401 (Django finds the app's models here)
    DeliveryStatus,
    OverdueAnnouncement,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


class StepCurrencyFee(models.Model):
    """A step's late fee in one currency (issue 17): the fixed fee, or a percentage fee's cap, for
    invoices in `currency`. Without a row, the step's base-currency amounts are converted at the day's
    rate (reminders.late_fees.step_fee)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    step = models.ForeignKey(ReminderStep, on_delete=models.CASCADE, related_name="currency_fees")
    currency = models.CharField(_("currency"), max_length=3)
    fee_value = models.DecimalField(_("fixed fee"), null=True, blank=True, **AMOUNT)
    fee_cap = models.DecimalField(_("fee cap"), null=True, blank=True, **AMOUNT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "currency"], name="step_currency_fee_once"),
            models.CheckConstraint(name="step_currency_fee_positive",
                                   condition=(Q(fee_value__isnull=True) | Q(fee_value__gt=0))
                                   & (Q(fee_cap__isnull=True) | Q(fee_cap__gt=0))),
        ]

    def __str__(self):
        return f"{self.step_id} {self.currency} {self.fee_value}/{self.fee_cap}"
