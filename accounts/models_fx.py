"""Exchange rates per organization (issue 17): how many units of the organization's base currency
one unit of `currency` was worth on `day`, and where the figure came from. accounts.fx is the one
home of the rules (lookup, validation, import)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models_org import Organization


class RateSource(models.TextChoices):
    MANUAL = "manual", _("Entered by hand")
    ECB = "ecb", _("ECB reference rates (file)")
    CSV = "csv", _("CSV file")
    FETCH = "fetch", _("Scheduled fetch")


class ExchangeRate(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField(_("date"))
    currency = models.CharField(_("currency"), max_length=3)
    # Base units per one unit of `currency` (EUR base, USD at 1.0850 per EUR → 0.9216589862).
    rate = models.DecimalField(_("rate to the base currency"), max_digits=28, decimal_places=12)
    source = models.CharField(_("source"), max_length=10, choices=RateSource.choices, default=RateSource.MANUAL)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "currency", "day"], name="fx_rate_one_per_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fx_rate_positive"),
        ]
        ordering = ["-day", "currency"]

    def __str__(self):
        return f"{self.day} {self.currency} {self.rate}"


class RevaluationLine(models.Model):
    """One open document of a posted revaluation (accounts.revaluation): what it was open for on the
    day, the base value the ledger carried it at, the day's rate, its value at that rate and the
    difference posted for it. A customer's rows sum to the receivable line the entry posted for that
    customer; a row of kind "o" holds what the customer's receivable carries beyond its documents
    (entries to the receivable that no document explains). Append-only, written with the entry."""

    class Kind(models.TextChoices):
        INVOICE = "i", _("Invoice")
        PAYMENT = "p", _("Payment")
        CREDIT_NOTE = "c", _("Credit note")
        OTHER = "o", _("Not tied to a document")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    entry = models.ForeignKey("accounts.JournalEntry", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=1, choices=Kind.choices)
    document_id = models.BigIntegerField(null=True, blank=True)
    number = models.CharField(max_length=100, blank=True)
    doc_date = models.DateField(null=True, blank=True)
    # Signed as on the receivable: an invoice's open amount positive, a payment's or credit note's
    # unapplied amount negative.
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    booked = models.DecimalField(max_digits=18, decimal_places=3)
    rate = models.DecimalField(max_digits=28, decimal_places=12)
    current = models.DecimalField(max_digits=18, decimal_places=3)
    difference = models.DecimalField(max_digits=18, decimal_places=3)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(difference=models.F("current") - models.F("booked")),
                                   name="revaluation_line_difference"),
            models.CheckConstraint(condition=models.Q(kind="o", document_id__isnull=True)
                                   | (~models.Q(kind="o") & models.Q(document_id__isnull=False)),
                                   name="revaluation_line_document"),
        ]
        indexes = [models.Index(fields=["organization", "entry"], name="revaluation_line_entry")]
        ordering = ["currency", "customer_id", "kind", "doc_date", "pk"]

    def __str__(self):
        return f"{self.kind}{self.document_id} {self.currency} {self.difference}"
