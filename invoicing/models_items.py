"""The items catalogue: products and services an organization bills, with a default price per
currency. Imported at the bottom of invoicing/models.py so Django registers the models.

An item is a template for invoice lines, never a source of truth for them: choosing an item in
the editor copies its name, unit, price and tax rate into the line, and the line keeps that copy
(and a reference to the item, for reports). Changing or archiving an item later changes no line.
Items are archived, never deleted, once a line refers to them (the reference is PROTECT).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from invoicing.models import TaxRate


class ItemQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)


class Item(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    description = models.CharField(_("description"), max_length=500, blank=True,
                                   help_text=_("Printed on the line after the name, when set."))
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("tax rate"))
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="item_code_unique_per_org")]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def line_description(self) -> str:
        return f"{self.name} — {self.description}" if self.description else self.name


class ItemPrice(models.Model):
    """An item's default unit price in one currency (exact to the currency's minor unit)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(_("currency"), max_length=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=4)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "item", "currency"], name="item_price_unique"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="item_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.item_id} {self.unit_price} {self.currency}"
