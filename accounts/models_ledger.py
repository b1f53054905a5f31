"""The chart of accounts and the append-only, hash-chained journal (DESIGN.md, The ledger).

Only `accounts.ledger` writes these tables. Journal rows are never updated or deleted: the
database refuses it (triggers in migration 0004). Maintained balances are derived data that
the posting transaction keeps exact and `verify_ledger` recomputes.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models_customer import Customer
from accounts.models_org import Organization

AMOUNT = {"max_digits": 18, "decimal_places": 3}


class AccountType(models.TextChoices):
    ASSET = "asset", _("Asset")
    LIABILITY = "liability", _("Liability")
    EQUITY = "equity", _("Equity")
    INCOME = "income", _("Income")
    EXPENSE = "expense", _("Expense")


class Account(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(_("code"), max_length=10)
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=AccountType.choices)
    # Set on the accounts the posting rules use (ar, bank, revenue, ...): those cannot be deleted.
    system_key = models.CharField(max_length=20, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="account_code_unique_per_org"),
            models.UniqueConstraint(fields=["organization", "system_key"], name="account_system_key_unique"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_system(self) -> bool:
        return self.system_key is not None

    @property
    def is_receivable(self) -> bool:
        return self.system_key == "ar"


class LedgerHead(models.Model):
    """One row per organization: the last sequence number and hash. Locking it serializes
    postings so that sequence numbers are gapless and the chain has one order."""

    organization = models.OneToOneField(Organization, on_delete=models.PROTECT, related_name="ledger_head")
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_ok = models.BooleanField(null=True)
    verified_message = models.CharField(max_length=500, blank=True)
    # Where the last clean check ended (accounts.ledger_verify_incremental starts there): the
    # journal entry and seal it vouched for, with their hashes.
    verified_seq = models.BigIntegerField(default=0)
    verified_hash = models.CharField(max_length=64, blank=True)
    verified_seal_seq = models.BigIntegerField(default=0)
    verified_seal_hash = models.CharField(max_length=64, blank=True)
    # The seal chain's head (accounts.seals): written only by the database's ledger_seal().
    seal_seq = models.BigIntegerField(default=0)
    seal_hash = models.CharField(max_length=64, default="0" * 64)
    # The period lock (accounts.period): nothing dated on or before lock_date, or before
    # books_start, is posted or allocated. Here, so posting reads them under the lock it takes anyway.
    lock_date = models.DateField(null=True, blank=True)
    books_start = models.DateField(null=True, blank=True)

    def __str__(self):
        return f"ledger head of {self.organization_id} at {self.last_seq}"


# Foreign keys below with db_index=False: a composite index or unique constraint already starts
# with that column, and every index is one more write per posted line.


class JournalEntry(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    seq = models.BigIntegerField()
    effective_date = models.DateField()
    posted_at = models.DateTimeField()
    memo = models.CharField(max_length=500, blank=True)
    source_type = models.CharField(max_length=40, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    source_label = models.CharField(max_length=100, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    idempotency_key = models.CharField(max_length=100)
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, related_name="reversed_by")
    reason = models.CharField(max_length=500, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # Which canonical form the hash covers (accounts.ledger_chain): 2 adds actor, reason, posted_at;
    # 3 also the lines' base amounts.
    hash_version = models.PositiveSmallIntegerField(db_default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "seq"], name="journal_seq_unique"),
            models.UniqueConstraint(fields=["organization", "idempotency_key"], name="journal_idempotency_unique"),
        ]
        indexes = [
            models.Index(fields=["organization", "effective_date"]),
            models.Index(fields=["organization", "source_type", "source_id"]),
        ]

    def __str__(self):
        return f"#{self.seq} {self.effective_date} {self.memo}"


class JournalLine(models.Model):
    # Lines are always reached through their entry, account or customer, never by organization
    # alone (RLS adds the organization as a filter); an organization is never deleted.
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines", db_index=False)
    line_no = models.PositiveSmallIntegerField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    # The partial (customer, effective_date) index serves "lines of this customer" (NULLs are
    # never looked up).
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, related_name="+", db_index=False)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT)  # debit positive, credit negative
    # The amount in the organization's base currency at the entry's rate (issue 17; sealed by hash
    # version 3). NULL on lines posted before base amounts existed (hash versions 1 and 2).
    base_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    effective_date = models.DateField()  # the entry's, repeated for index-only as-of sums

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "line_no"], name="journal_line_unique_no"),
            # Zero in the transaction currency only for an exchange difference: base amount alone.
            models.CheckConstraint(condition=~models.Q(amount=0) | (models.Q(base_amount__isnull=False)
                                                                    & ~models.Q(base_amount=0)),
                                   name="journal_line_not_zero"),
        ]
        indexes = [
            # Customer balance as of a date: an index-only sum over the customer's lines.
            models.Index(fields=["customer", "effective_date"], name="jline_customer_date",
                         include=["amount"], condition=models.Q(customer__isnull=False)),
            models.Index(fields=["account", "effective_date"], name="jline_account_date"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.amount} {self.currency}"


class CustomerBalance(models.Model):
    """A customer's current AR balance per currency, kept by the posting transaction."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="balances", db_index=False)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT, default=0)
    # What the last clean check vouched for, at the ledger head's verified_seq: the balance, and
    # the part of it from AR lines of entries no document refers to (payments.subledger). The
    # incremental check proves the balance = verified_amount + the lines since, without re-reading
    # older lines (accounts.ledger_verify_incremental). Written only by record_verification.
    verified_amount = models.DecimalField(**AMOUNT, db_default=0)
    verified_outside_docs = models.DecimalField(**AMOUNT, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"], name="customer_balance_unique")
        ]
        # For reports: the top debtors (the largest balances).
        indexes = [models.Index(fields=["organization", "currency", "amount"], name="rep_customerbalance_amount"),
                   # The customer list by balance (accounts.views.customers.SortedByBalance).
                   models.Index(fields=["organization", "amount", "customer"], name="customer_balance_list")]

    def __str__(self):
        return f"{self.customer_id} {self.amount} {self.currency}"


class AccountDayTotal(models.Model):
    """Net movement of an account per currency per effective day, kept by the posting
    transaction: an account's balance as of any date is a sum over few rows."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    currency = models.CharField(max_length=3)
    day = models.DateField()
    amount = models.DecimalField(**AMOUNT, default=0)
    # The total the last clean check vouched for, at the ledger head's verified_seq (as
    # CustomerBalance.verified_amount): the incremental check adds only the lines since.
    verified_amount = models.DecimalField(**AMOUNT, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "currency", "day"], name="account_day_unique")
        ]
        indexes = [models.Index(fields=["organization", "day"], include=["account", "currency", "amount"],
                                name="account_day_org_day")]

    def __str__(self):
        return f"{self.account_id} {self.day} {self.amount}"


class SealRecord(models.Model):
    """One link of the seal chain (accounts.seals): the content hash of a sealed row (an issued
    invoice or credit note, a stored PDF, a payment, an allocation...) and the hash of the journal
    entry it is tied to. Written only by the database (ledger_seal()); append-only."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    label = models.CharField(max_length=200, blank=True)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, related_name="+", db_index=False)
    entry_hash = models.CharField(max_length=64, null=True)
    content_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "seq"], name="seal_seq_unique"),
            models.UniqueConstraint(fields=["organization", "kind", "object_id"], name="seal_object_unique"),
        ]

    def __str__(self):
        return f"seal #{self.seq} {self.kind} {self.label}"


class PeriodLockEvent(models.Model):
    """Every change of an organization's lock date or books-start date: who, when, from where,
    what it was and became, and why (a reopening always says why). Append-only."""

    class Action(models.TextChoices):
        CLOSE = "close", _("Closed")
        REOPEN = "reopen", _("Reopened")
        BOOKS_START = "books_start", _("Books start moved")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(max_length=12, choices=Action.choices)
    old_date = models.DateField(null=True)
    new_date = models.DateField(null=True)
    reason = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.action} {self.old_date} → {self.new_date}"


class VerificationRun(models.Model):
    """One run of the ledger check (accounts.ledger_verify), scheduled or asked for: what it
    covered, how it ended and how long it took. Append-only (accounts 0013): the history of
    checks is itself evidence."""

    class Kind(models.TextChoices):
        FULL = "full", _("Full")
        INCREMENTAL = "incremental", _("Incremental")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        MANUAL = "manual", _("Owner, from the ledger page")
        COMMAND = "command", _("verify_ledger command")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    from_seq = models.BigIntegerField()  # the first entry checked (1 for a full check)
    to_seq = models.BigIntegerField()  # the last entry checked
    entries = models.BigIntegerField()
    seals = models.BigIntegerField(default=0)
    ok = models.BooleanField()
    problem_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list)  # the first 50
    first_bad_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["organization", "-started_at"], name="verification_by_org_time")]

    def __str__(self):
        return f"{self.kind} check of {self.organization_id} at {self.started_at}: {'OK' if self.ok else 'BROKEN'}"
