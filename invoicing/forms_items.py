"""The item form: code, name, description, unit, tax rate and one price field per currency the
organization bills in. Checks input only; invoicing.items.save_item applies the rules."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.forms_fields import NumberField, NumberInput
from accounts.money import minor_units
from invoicing.forms import tax_rate_label
from invoicing.models import TaxRate
from invoicing.models_items import Item

ITEM_FIELDS = ("code", "name", "description", "unit", "tax_rate")


class ItemForm(forms.ModelForm):
    class Meta:
        model = Item
        fields = list(ITEM_FIELDS)

    def __init__(self, *args, org, currencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.currencies = currencies
        rates = TaxRate.objects.filter(organization=org)
        keep = self.instance.tax_rate_id
        self.fields["tax_rate"].queryset = rates.filter(archived=False) | rates.filter(pk=keep or 0)
        self.fields["tax_rate"].label_from_instance = tax_rate_label
        self.fields["tax_rate"].empty_label = _("No tax")
        self.fields["code"].help_text = _("Letters, digits and - _ . /; stored in capitals.")
        self.fields["code"].validators.append(_code_chars)
        existing = {}
        if self.instance.pk:
            existing = dict(self.instance.prices.values_list("currency", "unit_price"))
        for currency in currencies:
            places = minor_units(currency)
            name = f"price_{currency}"
            self.fields[name] = NumberField(
                label=_("Price in %(currency)s") % {"currency": currency}, required=False, max_digits=15,
                min_value=Decimal(0), widget=NumberInput(attrs={"inputmode": "decimal"}),
                error_messages={"min_value": _("A price cannot be negative.")},
                help_text=_("Up to %(n)s decimals. Empty: no default price in %(currency)s.")
                % {"n": places, "currency": currency})
            if currency in existing and not self.is_bound:
                self.initial[name] = existing[currency].normalize()

    def clean(self):
        data = super().clean()
        for currency in self.currencies:
            price = data.get(f"price_{currency}")
            if price is not None and price != price.quantize(Decimal(1).scaleb(-minor_units(currency))):
                self.add_error(f"price_{currency}", ValidationError(
                    _("%(currency)s has %(n)s decimals; this price has more.")
                    % {"currency": currency, "n": minor_units(currency)}))
        return data

    def _post_clean(self):
        pass  # uniqueness and the rest are the service's, under its transaction

    def item_fields(self) -> dict:
        return {k: self.cleaned_data[k] for k in ITEM_FIELDS}

    def prices(self) -> dict:
        return {c: self.cleaned_data.get(f"price_{c}") for c in self.currencies}

    def price_fields(self):
        return [self[f"price_{c}"] for c in self.currencies]


def _code_chars(value: str):
    import re

    if not re.fullmatch(r"[A-Za-z0-9\-_./]+", value.strip()):
        raise ValidationError(_("Use letters, digits and - _ . / only."))
