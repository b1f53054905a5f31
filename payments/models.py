"""Payments received and the allocation rows that apply payments and credit notes to invoices.

Allocation is sub-ledger matching (DESIGN.md): it changes which items are open, not the
balance, so it posts nothing. Allocation rows are append-only (database triggers); un-applying
adds a negative row that points at the one it undoes.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Customer, JournalEntry, Organization
from invoicing.models import CreditNote, Invoice
from ledger_site.sorting import indexed_columns

AMOUNT = {"max_digits": 18, "decimal_places": 3}
ZERO = Decimal("0")


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CARD = "card", _("Card")
    CASH = "cash", _("Cash")
    CHEQUE = "cheque", _("Cheque")
    OTHER = "other", _("Other")


# The payment list's sorts, in one place (issue 23): ?sort=<key> or -<key> -> ORDER BY column, then id,
# each with an index leading (organization, column) below: rep_payment_received_day for the date,
# payment_list_amount for the amount (an index range scan per page, never a sort of the organization).


class Payment(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="payments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("amount"), **AMOUNT)
    currency = models.CharField(_("currency"), max_length=3)
    received_date = models.DateField(_("date received"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    deposit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+",
                                        verbose_name=_("deposited to"))
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    # The exchange rate this document was posted at: base units per unit of its currency (issue 17,
    # accounts.fx); 1 in the base currency; NULL on documents posted before rates were stored.
    fx_rate = models.DecimalField(_("exchange rate"), max_digits=28, decimal_places=12, null=True, blank=True)
    # Money received in another currency than the customer's account (issue 17, cross-currency): what
    # the bank got (received_amount in received_currency, posted to the deposit account) and the rate
    # that turned it into `amount` in `currency` (units of `currency` per unit received). NULL when the
    # money came in the account's currency, as every payment did before.
    received_amount = models.DecimalField(_("amount received"), max_digits=18, decimal_places=3, null=True,
                                          blank=True)
    received_currency = models.CharField(_("currency received"), max_length=3, blank=True)
    cross_rate = models.DecimalField(_("conversion rate"), max_digits=28, decimal_places=12, null=True, blank=True)
    # Maintained with the allocation and refund rows, in the same transaction.
    amount_allocated = models.DecimalField(default=ZERO, **AMOUNT)
    amount_refunded = models.DecimalField(default=ZERO, **AMOUNT)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, null=True, related_name="+")
    reversal_reason = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-received_date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "idempotency_key"], name="payment_idempotency_unique"),
            models.CheckConstraint(name="payment_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="payment_received_in_other_currency",
                condition=Q(received_currency="", received_amount__isnull=True, cross_rate__isnull=True)
                | (Q(received_amount__isnull=False, cross_rate__isnull=False, received_amount__gt=0, cross_rate__gt=0)
                   & ~Q(received_currency="")
                   & ~Q(received_currency=F("currency")))),
            models.CheckConstraint(
                name="payment_not_overallocated",
                condition=Q(amount_allocated__gte=0, amount_refunded__gte=0,
                            amount_allocated__lte=F("amount") - F("amount_refunded")),
            ),
        ]
        indexes = [
            # The global search: a trigram index on the reference where the database has pg_trgm
            # (accounts/search_indexes.py); the amount typed uses payment_list_amount below.
            models.Index(fields=["organization", "customer", "received_date"]),
            # One per sort the payment list offers (ledger_site.sorting); the amount's serves search too.
            *[models.Index(fields=["organization", column, "id"], name=f"payment_list_{column}")
              for column in indexed_columns("payments")],
            # For reports: collections by day, and payments with something unapplied.
            models.Index(fields=["organization", "received_date"], include=["amount", "currency", "customer",
                                                                           "reversal_entry"],
                         name="rep_payment_received_day"),
            models.Index(fields=["organization", "customer"], name="rep_payment_unapplied",
                         include=["currency", "received_date", "amount", "amount_allocated", "amount_refunded",
                                  "reversal_entry"],
                         condition=~Q(Exact(Case(When(reversal_entry__isnull=True, then=F("amount")), default=Value(0),
                                                  output_field=models.DecimalField())
                                            - F("amount_allocated") - F("amount_refunded"), 0))),
        ]

    def __str__(self):
        return f"Payment {self.reference or self.pk} {self.amount} {self.currency}"

    @property
    def fx_rate_text(self) -> str:
        from accounts.fx import rate_text

        return rate_text(self.fx_rate)

    @property
    def booked_base(self):
        """The amount in the base currency as its entry booked it (issue 17)."""
        from accounts.ledger import booked_base

        base = booked_base(self.entry_id)
        return None if base is None else -base

    @property
    def is_cross_currency(self) -> bool:
        return bool(self.received_currency)

    @property
    def cross_rate_text(self) -> str:
        from accounts.fx import rate_text

        return rate_text(self.cross_rate)

    @property
    def unapplied(self) -> Decimal:
        if self.reversed_at:
            return ZERO
        return self.amount - self.amount_allocated - self.amount_refunded


class Allocation(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, related_name="allocations")
    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, null=True, related_name="allocations")
    amount = models.DecimalField(**AMOUNT)  # positive applies, negative un-applies
    # The base-currency value of `amount` as the invoice booked it and as the payment or credit note
    # booked it (issue 17); their difference is the realized exchange gain or loss, posted in the
    # entry whose source is this row (payments.allocation). NULL in the base currency and before rates.
    invoice_base = models.DecimalField(**AMOUNT, null=True, blank=True)
    source_base = models.DecimalField(**AMOUNT, null=True, blank=True)
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, related_name="reversed_by")
    reason = models.CharField(max_length=500, blank=True)
    effective_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(name="allocation_one_source",
                                   condition=(Q(payment__isnull=False, credit_note__isnull=True)
                                              | Q(payment__isnull=True, credit_note__isnull=False))),
            models.CheckConstraint(name="allocation_not_zero", condition=~Q(amount=0)),
            models.CheckConstraint(name="allocation_negative_only_as_reversal",
                                   condition=Q(amount__gt=0, reverses__isnull=True)
                                   | Q(amount__lt=0, reverses__isnull=False)),
        ]
        indexes = [
            models.Index(fields=["invoice", "effective_date"], include=["amount"], name="allocation_invoice_date"),
            # For reports' as-of sums: a source's rows up to a day; an invoice's, index-only under RLS.
            models.Index(fields=["payment", "effective_date"], include=["amount"], name="rep_allocation_payment_day",
                         condition=Q(payment__isnull=False)),
            models.Index(fields=["credit_note", "effective_date"], include=["amount"],
                         name="rep_allocation_credit_day", condition=Q(credit_note__isnull=False)),
            models.Index(fields=["invoice", "effective_date"], include=["amount", "organization"],
                         name="rep_allocation_invoice_cover"),
            # For the aging from a period-end snapshot: the invoices allocated to in (snapshot, day].
            models.Index(fields=["organization", "effective_date"], include=["invoice"],
                         name="rep_allocation_invoice_org_day", condition=Q(invoice__isnull=False)),
        ]

    def __str__(self):
        return f"{self.amount} to {self.invoice_id}"


class Refund(models.Model):
    """Money paid back out of a payment's unapplied amount: Dr AR (customer) / Cr the account paid from.
    Append-only (database triggers), like the allocation rows."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), **AMOUNT)
    currency = models.CharField(_("currency"), max_length=3)
    refund_date = models.DateField(_("refund date"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("paid from"))
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    # A payment received in another currency is paid back in that currency (issue 17): what left the
    # account (paid_amount in paid_currency) and the day's rate that turned `amount` into it (units of
    # `paid_currency` per unit of `currency`). NULL for a refund in the account's own currency.
    paid_amount = models.DecimalField(_("amount paid back"), max_digits=18, decimal_places=3, null=True, blank=True)
    paid_currency = models.CharField(_("currency paid back"), max_length=3, blank=True)
    cross_rate = models.DecimalField(_("conversion rate"), max_digits=28, decimal_places=12, null=True, blank=True)
    idempotency_key = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["refund_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "idempotency_key"], name="refund_idempotency_unique"),
            models.CheckConstraint(name="refund_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="refund_paid_in_other_currency",
                condition=Q(paid_currency="", paid_amount__isnull=True, cross_rate__isnull=True)
                | (Q(paid_amount__isnull=False, cross_rate__isnull=False, paid_amount__gt=0, cross_rate__gt=0)
                   & ~Q(paid_currency="") & ~Q(paid_currency=F("currency")))),
        ]

    def __str__(self):
        return f"Refund {self.amount} {self.currency} of payment {self.payment_id}"

    @property
    def out_amount(self) -> Decimal:
        """What left the account, in `out_currency`."""
        return self.paid_amount if self.paid_currency else self.amount

    @property
    def out_currency(self) -> str:
        return self.paid_currency or self.currency


class Submission(models.Model):
    """One row per submitted form that changes allocations (apply, un-apply, reverse): a second
    submission of the same rendered form (double click, retried request) finds its key taken
    and changes nothing. The insert blocks on the unique index until the first commits."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=100)
    kind = models.CharField(max_length=30)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="payments_submission_unique"),
        ]

    def __str__(self):
        return f"{self.kind} {self.key}"


from payments.models_bank import BankAccount, BankLine, BankLineEvent, BankLineStatus, StatementImport  # noqa: E402,F401
