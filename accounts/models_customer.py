"""Customers: the people and businesses an organization bills."""

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower, Now
from django.utils.translation import gettext_lazy as _

from accounts.einvoice_ids import EAS_SCHEMES, validate_endpoint_id
from accounts.models_org import Organization

currency_validator = RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 code, e.g. EUR."))


class CustomerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)


class Customer(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="customers")
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=20)
    billing_emails = models.CharField(
        _("billing e-mails"), max_length=500, blank=True,
        help_text=_("One or more addresses, separated by commas."),
    )
    contact_person = models.CharField(_("contact person"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    billing_address = models.TextField(_("billing address"), max_length=1000, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)  # ISO 3166 alpha-2; e-invoices need it
    tax_id = models.CharField(_("tax id"), max_length=50, blank=True)
    # Peppol electronic address (accounts.einvoice_ids): where this customer receives e-invoices.
    endpoint_scheme = models.CharField(_("e-invoice endpoint scheme"), max_length=4, blank=True,
                                       choices=EAS_SCHEMES)
    endpoint_id = models.CharField(_("e-invoice endpoint id"), max_length=50, blank=True,
                                   validators=[validate_endpoint_id])
    currency = models.CharField(_("currency"), max_length=3, validators=[currency_validator])
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=18, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("0 means no limit."),
    )
    language = models.CharField(_("preferred language"), max_length=10, default="en")
    notes = models.TextField(_("notes"), max_length=5000, blank=True)
    tags = models.CharField(_("tags"), max_length=300, blank=True,
                            help_text=_("Comma-separated, e.g. wholesale, eu"))
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by a database trigger on every UPDATE (whatever writes the row): the API's updated_since.
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="customer_code_unique_per_org")
        ]
        indexes = [
            models.Index(fields=["organization", "name"]),
            # For reports: customers in case-insensitive name order (the aging report's default sort).
            models.Index(F("organization"), Lower("name"), F("id"), name="rep_customer_lower_name"),
            models.Index(fields=["organization", "updated_at"], name="customer_updated"),
            # The customer list sorted by created (ledger_site.sorting; name and code have theirs above).
            models.Index(fields=["organization", "created_at", "id"], name="customer_list_created_at"),
            # The global search's trigram index: accounts/search_indexes.py (only where pg_trgm exists).
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def email_list(self) -> list[str]:
        return [e.strip() for e in self.billing_emails.split(",") if e.strip()]

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None
