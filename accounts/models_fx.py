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
