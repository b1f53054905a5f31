"""Reports: per-organization report settings, the item-span summary, statement runs, credit overrides.

`ItemSpan` is derived data the database keeps exact: one row per issued invoice, payment and
credit note with the first and last effective day of anything that changes what is open on it
(issue, void, allocation, un-allocation, write-off, receipt, reversal, refund). Triggers on the
source tables (migration 0002) maintain it in the same transaction as the change, whichever
code path writes the rows (services, bulk loaders). An item whose last day is on or before D has,
as of D, exactly its amount open today; only items with `first_day <= D < last_day` need the
sums of their rows up to D. That keeps the aging as of any past date exact and fast.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, Organization

AMOUNT = {"max_digits": 18, "decimal_places": 3}
DEFAULT_LIMITS = "30,60,90"


def parse_limits(text: str) -> list[int]:
    """ "30,60,90" -> [30, 60, 90]; strictly increasing positive day counts, one to six of them."""
    try:
        limits = [int(p) for p in str(text).replace(" ", "").split(",") if p != ""]
    except ValueError as e:
        raise ValidationError(_("Use whole numbers of days separated by commas, e.g. 30,60,90.")) from e
    if not 1 <= len(limits) <= 6:
        raise ValidationError(_("Give between one and six bucket limits."))
    if any(n <= 0 or n > 3650 for n in limits) or limits != sorted(set(limits)):
        raise ValidationError(_("Bucket limits must be increasing numbers of days between 1 and 3650."))
    return limits


def validate_limits(text: str) -> None:
    parse_limits(text)


class AgingBasis(models.TextChoices):
    DUE = "due", _("Days past due date")
    ISSUE = "issue", _("Days since invoice date")


class DsoFormula(models.TextChoices):
    PERIOD_END = "period_end", _("Period-end balance")
    AVERAGE = "average", _("Average balance")
    COUNT_BACK = "count_back", _("Count-back")


class ReportSettings(models.Model):
    """Aging buckets and the DSO formula of one organization (credit control's overdue threshold is
    the organization's own: accounts.credit_terms.overdue_days)."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="report_settings")
    aging_limits = models.CharField(
        _("aging buckets (upper limits in days)"),
        max_length=60,
        default=DEFAULT_LIMITS,
        validators=[validate_limits],
        help_text=_("Comma-separated, e.g. 30,60,90 gives current, 1–30, 31–60, 61–90 and over 90."),
    )
    aging_basis = models.CharField(
        _("age invoices by"), max_length=5, choices=AgingBasis.choices, default=AgingBasis.DUE
    )
    # Issue 20: which DSO formula the dashboard headlines (reports.dso has all three).
    dso_formula = models.CharField(
        _("DSO formula on the dashboard"), max_length=12, choices=DsoFormula.choices, default=DsoFormula.PERIOD_END
    )

    def __str__(self):
        return f"report settings of {self.organization_id}"

    @property
    def limits(self) -> list[int]:
        return parse_limits(self.aging_limits)

    @classmethod
    def for_org(cls, org) -> "ReportSettings":
        found = cls.objects.filter(organization=org).first()
        return found or cls(organization=org)


class ItemKind(models.TextChoices):
    INVOICE = "i", _("Invoice")
    PAYMENT = "p", _("Payment")
    CREDIT_NOTE = "c", _("Credit note")


class ItemSpan(models.Model):
    """First and last effective day of the rows that move an item's open amount (see module doc).
    Written only by database triggers; `reports.spans.rebuild` derives it from scratch."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=1, choices=ItemKind.choices)
    item_id = models.BigIntegerField()
    first_day = models.DateField()
    last_day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "item_id"], name="reports_itemspan_unique"),
            models.CheckConstraint(
                condition=models.Q(first_day__lte=models.F("last_day")), name="reports_itemspan_ordered"
            ),
        ]
        indexes = [
            # Items whose span straddles a date D: last_day > D (range), first_day <= D (filter).
            models.Index(
                fields=["organization", "last_day"],
                include=["first_day", "kind", "item_id"],
                name="reports_itemspan_org_last",
            ),
        ]

    def __str__(self):
        return f"{self.kind}{self.item_id} {self.first_day}..{self.last_day}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class StatementRun(models.Model):
    """A bulk statement job: which customers, which period and style, and how far it got."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    style = models.CharField(max_length=20)
    start = models.DateField()
    end = models.DateField()
    tag = models.CharField(max_length=50, blank=True)
    send = models.BooleanField(default=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # no e-mail address on file
    failed = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"statement run {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.done * 100 / self.total)

    @property
    def is_active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)


class StatementRunItem(models.Model):
    """One customer of a bulk run: what happened to its statement."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(StatementRun, on_delete=models.CASCADE, related_name="items")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, blank=True)  # sent, rendered, skipped, failed
    detail = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "customer"], name="statement_run_item_unique")]

    def __str__(self):
        return f"{self.run_id}/{self.customer_id}: {self.outcome}"


class OpenByDueDate(models.Model):
    """Σ amount due and count of the issued, unpaid invoices per due date and currency: the
    dashboard's aging chart, overdue figures and "due in the next 7 days" read a few hundred of
    these rows instead of every open invoice. Kept by triggers on invoicing_invoice (migration
    0004) in the same transaction as the change; `reports.summaries` derives it from scratch."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    due_date = models.DateField()
    amount = models.DecimalField(**AMOUNT, default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "currency", "due_date"], name="reports_openbyduedate_unique"
            )
        ]

    def __str__(self):
        return f"{self.due_date} {self.amount} {self.currency} ({self.count})"


class CustomerOpen(models.Model):
    """Σ amount due and count of one customer's issued, unpaid invoices per currency, due date and
    invoice date (issue 23 item 2): today's aging reads a page of customers' few rows here instead
    of every open item. Kept by triggers on invoicing_invoice (migration 0017) in the same
    transaction as the change; a row whose count reaches 0 is deleted, so a customer keeps only
    the dates it still owes on. `reports.summaries` derives it from scratch; `reports.aging` adds
    the few items whose span ends after the as-of day (post-dated rows) exactly."""

    # No index of its own on organization: the unique key leads with it (and the customer count reads
    # that key index-only).
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    due_date = models.DateField()
    issue_date = models.DateField()
    amount = models.DecimalField(**AMOUNT, default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer_id", "currency", "due_date", "issue_date"],
                name="reports_customeropen_unique",
            )
        ]

    def __str__(self):
        return f"{self.customer_id} {self.due_date} {self.amount} {self.currency} ({self.count})"


class CustomerTotal(models.Model):
    """Σ amount due and count of one customer's issued, unpaid invoices per currency (issue 23):
    `CustomerOpen` summed over the dates, kept by the same kind of triggers on invoicing_invoice
    (migration 0019) in the same transaction as the change; a row whose count reaches 0 is deleted.
    Today's aging sorted by total walks its index (amount, customer) for a page instead of summing
    every customer's rows; the customers with post-dated rows or unapplied items are computed
    exactly beside it (`reports.aging`)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT, default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer_id", "currency"], name="reports_customertotal_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "currency", "amount", "customer_id"], name="reports_custtotal_by_amount"
            )
        ]

    def __str__(self):
        return f"{self.customer_id} {self.amount} {self.currency} ({self.count})"


class AgingSnapshot(models.Model):
    """A period-end snapshot (issue 23 item 2): what was open at the end of `day` by the one as-of
    definition, written only for days on or before the organization's lock date (nothing dated then can
    change: invariant 11), so it never goes stale; reopening the period deletes the snapshots after the
    new lock date (a trigger on the ledger head, migration 0022). This row is written last, in the same
    transaction as the rows below: a snapshot is complete or absent. The aging as of a past day D reads
    the latest snapshot S <= D and adds the invoices with something dated in (S, D] (reports.snapshots)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField()
    taken_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="reports_agingsnapshot_unique")]

    def __str__(self):
        return f"snapshot {self.day}"


class SnapshotOpen(models.Model):
    """A snapshot's `CustomerOpen`: per customer, currency, due date and invoice date, Σ open and count."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField()
    customer_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    due_date = models.DateField()
    issue_date = models.DateField()
    amount = models.DecimalField(**AMOUNT, default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "customer_id", "currency", "due_date", "issue_date"],
                name="reports_snapshotopen_unique",
            )
        ]

    def __str__(self):
        return f"{self.day} {self.customer_id} {self.due_date} {self.amount} {self.currency} ({self.count})"


class SnapshotTotal(models.Model):
    """A snapshot's `CustomerTotal`: per customer and currency (the walk for pages sorted by total)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField()
    customer_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT, default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "customer_id", "currency"], name="reports_snapshottotal_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "day", "currency", "amount", "customer_id"], name="reports_snaptotal_by_amount"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.customer_id} {self.amount} {self.currency} ({self.count})"


class SnapshotDates(models.Model):
    """A snapshot's organization-wide rows: per currency, due date and invoice date (the totals row)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    due_date = models.DateField()
    issue_date = models.DateField()
    amount = models.DecimalField(**AMOUNT, default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "currency", "due_date", "issue_date"],
                name="reports_snapshotdates_unique",
            )
        ]

    def __str__(self):
        return f"{self.day} {self.due_date} {self.amount} {self.currency} ({self.count})"


class DailyFlow(models.Model):
    """Per day and currency: invoiced (issued invoices' totals by issue date, voided ones not)
    and collected (payments by date received, reversed ones not). Kept by triggers on
    invoicing_invoice and payments_payment (migration 0004): DSO, "collected this month vs last"
    and the 12-month collections chart sum a few hundred rows."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    day = models.DateField()
    invoiced = models.DecimalField(**AMOUNT, default=0)
    collected = models.DecimalField(**AMOUNT, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "currency", "day"], name="reports_dailyflow_unique")
        ]

    def __str__(self):
        return f"{self.day} +{self.invoiced} -{self.collected} {self.currency}"


class PaidInvoice(models.Model):
    """Invoices paid in full by payments (nothing due, something paid, nothing written off) and
    the day they were paid (their item span's last day: the final allocation). Payment behaviour
    and the forecast read these instead of joining every span to its invoice. Kept by triggers on
    invoicing_invoice and on the span changes (migration 0010); `reports.summaries` derives it."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice_id = models.BigIntegerField(unique=True)
    customer_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    issue_date = models.DateField()
    due_date = models.DateField()
    paid_on = models.DateField()
    total = models.DecimalField(max_digits=18, decimal_places=3, default=0)  # the invoice's (frozen once issued)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "paid_on"],
                include=["customer_id", "currency", "issue_date", "due_date", "total"],
                name="reports_paid_org_day",
            ),
            models.Index(
                fields=["customer_id", "paid_on"],
                include=["organization", "currency", "issue_date", "due_date"],
                name="reports_paid_customer_day",
            ),
        ]

    def __str__(self):
        return f"invoice {self.invoice_id} paid {self.paid_on}"


# --- scheduled report e-mails (issue 20 item 9) -----------------------------------------------------


class SubscribedReport(models.TextChoices):
    SUMMARY = "summary", _("AR summary")
    AGING = "aging", _("Aging by customer")


class ReportFrequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class ReportFormat(models.TextChoices):
    PDF = "pdf", _("PDF")
    XLSX = "xlsx", _("Excel (XLSX)")


class ReportSubscription(models.Model):
    """A member (owner or finance) who gets a report by e-mail after every week or month
    (reports.subscriptions). Sent to the member's own address, only while they hold that role."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    report = models.CharField(
        _("report"), max_length=10, choices=SubscribedReport.choices, default=SubscribedReport.SUMMARY
    )
    frequency = models.CharField(
        _("how often"), max_length=10, choices=ReportFrequency.choices, default=ReportFrequency.WEEKLY
    )
    file_format = models.CharField(
        _("attachment"), max_length=4, choices=ReportFormat.choices, default=ReportFormat.PDF
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "report", "frequency", "file_format"], name="report_subscription_once"
            )
        ]

    def __str__(self):
        return f"{self.report} {self.frequency} {self.file_format} for user {self.user_id}"


class ReportDispatch(models.Model):
    """One period's e-mail of one subscription: its idempotency key (user, report, frequency,
    format, period) is unique per organization, so a period is sent at most once, also when
    two runs overlap; the row outlives the subscription (re-subscribing does not resend)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=120)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    delivery = models.ForeignKey(
        "invoicing.EmailDelivery", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    skipped = models.CharField(max_length=300, blank=True)  # why nothing was sent for the period
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "-pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="report_dispatch_once")]

    def __str__(self):
        return f"{self.key}: {self.delivery_id or self.skipped}"
