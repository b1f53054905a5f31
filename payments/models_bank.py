"""Bank accounts, imported statements, their lines, and what was done with each line.

A `BankAccount` is the organization's account at a bank, linked to the ledger account its money
is booked on (Bank, or another asset account) and held in one currency. A `StatementImport` is
one uploaded file; its `BankLine`s are the bank's transactions. A line is unique per bank account
by `dedupe_key` (the bank's transaction id, or a stable hash of date, amount, reference and
counterparty), so the same file or an overlapping statement never adds a line twice.

A line's state: unmatched → matched (linked to a payment, or posted to another account with a
reason; or, money out, linked to a refund or a bounced payment's reversal) → reconciled.
Every change of state writes a `BankLineEvent` (who, when, what): the
record of who confirmed what, un-matches included.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Customer, JournalEntry, Organization

AMOUNT = {"max_digits": 18, "decimal_places": 3}


class BankAccount(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    iban = models.CharField(_("IBAN or account number"), max_length=40, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("ledger account"))
    # The last CSV column mapping used for this account (payments.statements.CsvMapping fields).
    csv_mapping = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="bankaccount_name_unique_per_org"),
            models.UniqueConstraint(fields=["organization", "account", "currency"],
                                    name="bankaccount_ledger_account_unique"),
        ]

    def __str__(self):
        return f"{self.name} ({self.currency})"


class StatementImport(models.Model):
    """One uploaded statement file: held as a preview until committed, then its lines exist."""

    class Status(models.TextChoices):
        PREVIEW = "preview", _("Preview")
        IMPORTING = "importing", _("Importing")
        COMMITTED = "committed", _("Imported")
        DISCARDED = "discarded", _("Discarded")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="imports")
    filename = models.CharField(max_length=200)
    format = models.CharField(max_length=10)  # csv, camt053, ofx
    mapping = models.JSONField(default=dict, blank=True)  # the CSV mapping it was read with
    content = models.BinaryField()  # the file as uploaded (size capped by BANK_STATEMENT_MAX_BYTES)
    # The statement as parsed and checked by the preview (payments.statements.statement_to_json), so
    # the summary and the commit do not parse the file again; dropped once committed or discarded.
    parsed = models.JSONField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEW)
    statement_id = models.CharField(max_length=100, blank=True)
    opening_balance = models.DecimalField(null=True, blank=True, **AMOUNT)
    closing_balance = models.DecimalField(null=True, blank=True, **AMOUNT)
    date_from = models.DateField(null=True, blank=True)
    date_to = models.DateField(null=True, blank=True)
    lines_total = models.PositiveIntegerField(default=0)
    lines_added = models.PositiveIntegerField(default=0)
    lines_duplicate = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    committed_at = models.DateTimeField(null=True, blank=True)
    # A large file is committed by a background job (django-q2) in batches: lines looked at so far.
    progress = models.PositiveIntegerField(default=0)
    job_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"


class BankLineStatus(models.TextChoices):
    UNMATCHED = "unmatched", _("Unmatched")
    MATCHED = "matched", _("Matched")
    RECONCILED = "reconciled", _("Reconciled")


class BankLine(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="lines")
    statement = models.ForeignKey(StatementImport, on_delete=models.PROTECT, related_name="lines")
    dedupe_key = models.CharField(max_length=100)
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(**AMOUNT)  # signed: money in is positive
    currency = models.CharField(max_length=3)
    bank_reference = models.CharField(max_length=100, blank=True)
    end_to_end_id = models.CharField(max_length=100, blank=True)
    creditor_reference = models.CharField(max_length=40, blank=True)  # structured (e.g. ISO 11649 RF…)
    remittance = models.CharField(max_length=500, blank=True)  # unstructured remittance text
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_iban = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=BankLineStatus.choices, default=BankLineStatus.UNMATCHED)
    payment = models.ForeignKey("payments.Payment", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="bank_lines")
    payment_created = models.BooleanField(default=False)  # the match recorded the payment (undo reverses it)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    posted_account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # The line is linked to an entry recorded elsewhere (a refund, a payment's reversal), not posted
    # by it: an undo unlinks it and reverses nothing.
    entry_linked = models.BooleanField(default=False)
    match_reason = models.CharField(max_length=500, blank=True)
    match_count = models.PositiveIntegerField(default=0)  # bumps the payment key after an undo
    matched_at = models.DateTimeField(null=True, blank=True)
    matched_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconciled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                      related_name="+")

    class Meta:
        ordering = ["booking_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "bank_account", "dedupe_key"],
                                    name="bankline_dedupe_unique"),
            # One payment is seen in the bank once.
            models.UniqueConstraint(fields=["organization", "payment"], condition=Q(payment__isnull=False),
                                    name="bankline_payment_unique"),
            # One journal entry (a refund, a reversal, a posting) is seen in the bank once.
            models.UniqueConstraint(fields=["organization", "entry"], condition=Q(entry__isnull=False),
                                    name="bankline_entry_unique"),
            models.CheckConstraint(name="bankline_not_zero", condition=~Q(amount=0)),
            models.CheckConstraint(
                name="bankline_matched_has_target",
                condition=Q(status="unmatched", payment__isnull=True, entry__isnull=True)
                | (~Q(status="unmatched") & (Q(payment__isnull=False) | Q(entry__isnull=False)))),
        ]
        indexes = [models.Index(fields=["organization", "bank_account", "status", "booking_date"])]

    def __str__(self):
        return f"{self.booking_date} {self.amount} {self.currency} {self.counterparty_name}"

    @property
    def text(self) -> str:
        """Everything the bank told about the line, for searching and display."""
        return " ".join(t for t in (self.creditor_reference, self.remittance, self.bank_reference,
                                    self.end_to_end_id) if t)


class BankLineEvent(models.Model):
    """Append-only history of a line: matched, unmatched, posted, reconciled (who, when, why)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(BankLine, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=20)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.action} {self.line_id}"
