"""The form field of every amount, quantity and percent a person types (issue 21): it reads the
organization's way of writing numbers with the one parser (accounts.locale.parse_number), so
"1,250.00" (or "1.250,00" in German) is accepted and "1,5" in English is refused with a message
naming the expected format, instead of Django's bare "Enter a number.". Inputs show values back
in the same marks, so a redisplayed form submits unchanged."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from accounts.locale import NumberInputError, expected_format, format_input, parse_number


class NumberInput(forms.TextInput):
    """A text input (not type=number: browsers refuse group marks there) with a decimal keypad on
    phones and the locale's marks for the value shown."""

    def __init__(self, attrs=None):
        base = {"inputmode": "decimal", "autocomplete": "off", "class": "num"}
        base.update(attrs or {})
        super().__init__(base)

    def format_value(self, value):
        if isinstance(value, Decimal):
            return format_input(value, grouped=False)
        return super().format_value(value)


class NumberField(forms.DecimalField):
    widget = NumberInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            number = parse_number(value)
        except NumberInputError as e:
            raise ValidationError(str(e), code="invalid") from e
        return number

    def widget_attrs(self, widget):
        # DecimalField's step/min/max belong to type=number inputs only.
        return forms.Field.widget_attrs(self, widget)

    def prepare_value(self, value):
        return value

    @staticmethod
    def expected() -> str:
        return expected_format()


def amount_field(label, **kwargs) -> NumberField:
    """A money amount: 18 digits, 3 decimals at most (the column); the currency's own decimals are
    checked by accounts.money.check_exact where the currency is known."""
    too_large = "This amount is too large."
    messages = {"max_digits": too_large, "max_whole_digits": too_large}
    messages.update(kwargs.pop("error_messages", {}))
    kwargs.setdefault("max_digits", 18)
    kwargs.setdefault("decimal_places", 3)
    return NumberField(label=label, error_messages=messages, **kwargs)
