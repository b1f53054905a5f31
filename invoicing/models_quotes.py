"""Quotes (estimates): drafted like invoices, numbered in their own gapless series when sent,
accepted or declined by the customer from a signed link, converted to an invoice in one click.
Quotes never post to the ledger. Imported at the bottom of invoicing/models.py."""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, Organization
from invoicing.models import AMOUNT, PERCENT, ZERO, DocumentLine, Invoice


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class Quote(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="quotes")
    status = models.CharField(max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    number = models.CharField(max_length=40, null=True, blank=True)
    currency = models.CharField(max_length=3)
    issue_date = models.DateField(_("date"))
    valid_until = models.DateField(_("valid until"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), max_length=5000, blank=True)
    subtotal = models.DecimalField(default=ZERO, **AMOUNT)
    tax_total = models.DecimalField(default=ZERO, **AMOUNT)
    total = models.DecimalField(default=ZERO, **AMOUNT)
    nonce = models.CharField(max_length=64, blank=True)  # the signed public link's; set when sent
    sent_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_ip = models.GenericIPAddressField(null=True, blank=True)
    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="source_quote")
    converted_at = models.DateTimeField(null=True, blank=True)
    # An accepted quote may also become a recurring schedule (invoicing.quotes.convert_to_schedule).
    schedule = models.OneToOneField("invoicing.RecurringSchedule", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="source_quote")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-issue_date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="quote_number_unique_per_org"),
            models.CheckConstraint(name="quote_sent_has_number", condition=Q(status="draft") | Q(number__isnull=False)),
            models.CheckConstraint(name="quote_decision_recorded",
                                   condition=~Q(status__in=["accepted", "declined"]) | Q(decided_at__isnull=False)),
            models.CheckConstraint(name="quote_converted_when_accepted",
                                   condition=Q(invoice__isnull=True) | Q(status="accepted")),
            models.CheckConstraint(name="quote_scheduled_when_accepted",
                                   condition=Q(schedule__isnull=True) | Q(status="accepted")),
            models.CheckConstraint(name="quote_valid_after_date", condition=Q(valid_until__gte=models.F("issue_date"))),
        ]

    def __str__(self):
        return self.number or f"Draft quote #{self.pk}"

    def is_expired_on(self, today: date) -> bool:
        """The expiry rule: sent and valid only until a day before `today`, the organization's
        (`Organization.today()`). `expired_q(today)` is the same rule for a queryset."""
        return self.status == QuoteStatus.SENT and self.valid_until < today


def expired_q(today: date) -> Q:
    """`Quote.is_expired_on` as a filter; lists annotate it (`with_expired`) so that no row asks for
    its organization's today."""
    return Q(status=QuoteStatus.SENT, valid_until__lt=today)


def with_expired(quotes, today: date):
    return quotes.annotate(expired=ExpressionWrapper(expired_q(today), output_field=BooleanField()))


class QuoteLine(DocumentLine):
    """A quote's line (the one line rule, invoicing.models.DocumentLine); a quote has no
    quote-level discount, so gross is also net."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    tax_percent = models.DecimalField(default=ZERO, **PERCENT)
    gross_amount = models.DecimalField(default=ZERO, **AMOUNT)
    tax_amount = models.DecimalField(default=ZERO, **AMOUNT)
