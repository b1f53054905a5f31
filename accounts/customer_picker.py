"""Choosing a customer in a form (the invoice editor, the payment form).

An organization with at most settings.CUSTOMER_SELECT_MAX active customers gets a plain
<select>: the best control for a short list. Above that, a select of thousands of customers is
megabytes of page and unusable, so the field becomes a text input for a name or code:
static/js/customer_picker.js suggests matches from `customer_lookup` and puts the chosen id in a
hidden input; without JavaScript the server resolves the typed text (`resolve`).

Both kinds of field only ever find this organization's active customers.
"""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Lower
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from accounts.money import minor_units

SUGGESTIONS = 20
MAX_TEXT = 250  # a name (200) and " (CODE)"
LABEL = re.compile(r"^(?P<name>.+) \((?P<code>[^()]+)\)$")  # str(customer): "Name (CODE)"


def live_data(customer) -> dict[str, str]:
    """What the live editors read from the chosen customer, as data-* attributes."""
    return {"currency": customer.currency, "minor-units": str(minor_units(customer.currency)),
            "terms": str(customer.payment_terms_days)}


def active_customers(org):
    return Customer.objects.active().filter(organization=org)


def uses_picker(org) -> bool:
    """More active customers than a select should list (counts at most one past the limit)."""
    limit = settings.CUSTOMER_SELECT_MAX
    return active_customers(org)[: limit + 1].count() > limit


def _by_code(org, text):
    """Codes are stored upper-case; the unique (organization, code) index answers this."""
    return active_customers(org).filter(code__in={text, text.upper()}).order_by("pk")


def suggest(org, text: str, limit: int = SUGGESTIONS) -> list:
    """Active customers whose code starts with, or whose name contains, `text` (any case).

    Under row-level security LIKE and lower() are not leakproof, so no index can apply them; the
    organization and the order can. EXPLAIN shows a walk of (organization_id, lower(name), id)
    (reports migration 0007) that stops after `limit` matches for a common term (a few index
    pages), and for a rare one a read of this organization's customers only (~5 ms for 10,000),
    never of every organization's. Exact code first, then code prefixes, then names that start
    with the text.
    """
    text = text.strip()[:MAX_TEXT]
    if not text:
        return []
    found = list(active_customers(org).filter(Q(code__istartswith=text) | Q(name__icontains=text))
                 .order_by(Lower("name"), "pk")[:limit])
    exact = [c for c in _by_code(org, text) if c not in found]
    upper, lower = text.upper(), text.lower()

    def rank(c):
        code = c.code.upper()
        return 0 if code == upper else 1 if code.startswith(upper) else 2 if c.name.lower().startswith(lower) else 3

    return sorted(exact + found, key=rank)[:limit]


def resolve(org, text: str):
    """The one active customer the typed text names, or a ValidationError saying why not.

    An exact code (any case); the picker's own "Name (CODE)"; the one name equal to the text
    (any case); else the one name that contains it. Runs on submit only: the name query reads this
    organization's customers once (under row-level security LIKE and lower() are filters, never
    index conditions; see `suggest`).
    """
    text = text.strip()
    customer = _by_code(org, text).first()
    if customer is not None:
        return customer
    label = LABEL.match(text)
    if label:
        customer = _by_code(org, label["code"].strip()).filter(name__iexact=label["name"].strip()).first()
        if customer is not None:
            return customer
    found = list(active_customers(org).filter(name__icontains=text)
                 .annotate(exact=Case(When(name__iexact=text, then=Value(True)), default=Value(False)))
                 .order_by("-exact", Lower("name"), "pk")[:4])
    exact = [c for c in found if c.exact]
    if len(exact) == 1 or len(found) == 1:
        return found[0]
    if not found:
        raise ValidationError(gettext("No active customer matches “%(text)s”.") % {"text": text}, code="no_match")
    shown = exact or found
    examples = ", ".join(f"{c.code} ({c.name})" for c in shown[:3]) + (" …" if len(shown) > 3 else "")
    raise ValidationError(gettext("Several customers match “%(text)s”; type the code: %(examples)s.")
                          % {"text": text, "examples": examples}, code="ambiguous")


class CustomerChoiceField(forms.ModelChoiceField):
    """The plain select, for an organization with few customers."""

    def customer_for(self, value):
        try:
            return self.to_python(value)
        except ValidationError:
            return None


class CustomerPicker(forms.Widget):
    """A text input `<name>_text` for what the user types and a hidden input `<name>` for the
    chosen customer's id, which carries that customer's live data-* attributes."""

    def __init__(self, lookup_url: str, attrs=None):
        super().__init__(attrs)
        self.lookup_url = lookup_url

    def format_value(self, value):
        return value

    def value_from_datadict(self, data, files, name):
        return (data.get(f"{name}_text", ""), data.get(name, ""))

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}_text" not in data

    def render(self, name, value, attrs=None, renderer=None):
        value = value or {"text": "", "id": "", "data": {}}
        text_attrs = self.build_attrs(self.attrs, attrs)
        text_attrs.update({"type": "text", "name": f"{name}_text", "value": value["text"], "autocomplete": "off",
                           "spellcheck": "false", "maxlength": str(MAX_TEXT), "data-lookup-url": self.lookup_url,
                           "placeholder": gettext("Type a name or code"),
                           "data-no-match": gettext("No active customer matches “{text}”.")})
        hidden = {"type": "hidden", "name": name, "value": value["id"],
                  **{f"data-{k}": v for k, v in value["data"].items()}}
        return format_html('<span class="customer-picker" data-customer-picker><input{}><input{}></span>',
                           flatatt(text_attrs), flatatt(hidden))


class CustomerPickerField(forms.Field):
    default_error_messages = {"required": _("Type a customer's name or code.")}

    def __init__(self, *, org, lookup_url, **kwargs):
        kwargs.setdefault("help_text", _("Type the customer's name or code."))
        super().__init__(widget=CustomerPicker(lookup_url), **kwargs)
        self.org = org
        self._resolved = {}

    def clean(self, value):
        text, pk = value if isinstance(value, (list, tuple)) else ("", value)
        text = (text or "").strip()
        if not text:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        if (text, pk) not in self._resolved:
            self._resolved[(text, pk)] = self._resolve(text, str(pk or ""))
        result = self._resolved[(text, pk)]
        if isinstance(result, ValidationError):
            raise result
        return result

    def _resolve(self, text, pk):
        # The id the script filled counts only while the text still names that customer: without
        # JavaScript, retyping the text leaves the previous id behind.
        if pk.isdigit():
            customer = active_customers(self.org).filter(pk=pk).first()
            if customer is not None and str(customer) == text:
                return customer
        try:
            return resolve(self.org, text)
        except ValidationError as e:
            return e

    def customer_for(self, value):
        """The customer a value names (an id, a Customer, or the widget's (text, id)), or None."""
        if isinstance(value, Customer):
            return value if value.organization_id == self.org.pk and not value.is_archived else None
        if isinstance(value, (list, tuple)):
            try:
                return self.clean(value)
            except ValidationError:
                return None
        if value and str(value).isdigit():
            return active_customers(self.org).filter(pk=value).first()
        return None

    def prepare_value(self, value):
        """What the widget shows: the resolved customer's label and id, else the text as typed."""
        customer = self.customer_for(value)
        if customer is not None:
            return {"text": str(customer), "id": customer.pk, "data": live_data(customer)}
        text = value[0] if isinstance(value, (list, tuple)) else ""
        return {"text": text, "id": "", "data": {}}


def customer_field(org, *, select_widget=forms.Select, **kwargs):
    """A form's customer field: the select for a small organization, else the type-ahead."""
    if uses_picker(org):
        return CustomerPickerField(org=org, lookup_url=reverse("customer_lookup", kwargs={"org_slug": org.slug}),
                                   **kwargs)
    return CustomerChoiceField(queryset=active_customers(org).order_by("name", "pk"), widget=select_widget,
                               empty_label=_("Choose a customer…"),
                               error_messages={"invalid_choice": _("Choose one of your active customers.")}, **kwargs)
