"""Choosing a customer in a form (the invoice editor, the payment form) or a list filter.

An organization with at most settings.CUSTOMER_SELECT_MAX active customers gets a plain
<select>: the best control for a short list. Above that, a select of thousands of customers is
megabytes of page and unusable, so the field becomes a text input for a name or code:
static/js/customer_picker.js suggests matches from `customer_lookup` and puts the chosen id in a
hidden input; without JavaScript the server resolves the typed text (`resolve`).

Both kinds of field only ever find this organization's customers: active ones in a form; the
list filters (`customer_filter_field`) also find archived ones, for history, marked as such in the
suggestions (`?archived=1` on the lookup).
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


def customers_of(org, archived: bool = False):
    """The customers a field may choose: active ones, or with `archived` all (a list's history)."""
    return Customer.objects.filter(organization=org) if archived else active_customers(org)


def uses_picker(org, archived: bool = False) -> bool:
    """More customers than a select should list (counts at most one past the limit)."""
    limit = settings.CUSTOMER_SELECT_MAX
    return customers_of(org, archived)[: limit + 1].count() > limit


def _by_code(org, text, archived=False):
    """Codes are stored upper-case; the unique (organization, code) index answers this."""
    return customers_of(org, archived).filter(code__in={text, text.upper()}).order_by("pk")


def no_match_message(archived: bool) -> str:
    return (gettext("No customer matches “%(text)s”.") if archived
            else gettext("No active customer matches “%(text)s”."))


def suggest(org, text: str, limit: int = SUGGESTIONS, archived: bool = False) -> list:
    """Active (with `archived`, all) customers whose code starts with, or whose name contains,
    `text` (any case).

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
    found = list(customers_of(org, archived).filter(Q(code__istartswith=text) | Q(name__icontains=text))
                 .order_by(Lower("name"), "pk")[:limit])
    exact = [c for c in _by_code(org, text, archived) if c not in found]
    upper, lower = text.upper(), text.lower()

    def rank(c):
        code = c.code.upper()
        return 0 if code == upper else 1 if code.startswith(upper) else 2 if c.name.lower().startswith(lower) else 3

    return sorted(exact + found, key=rank)[:limit]


def resolve(org, text: str, archived: bool = False):
    """The one active (with `archived`, any) customer the typed text names, or a ValidationError
    saying why not.

    An exact code (any case); the picker's own "Name (CODE)"; the one name equal to the text
    (any case); else the one name that contains it. Runs on submit only: the name query reads this
    organization's customers once (under row-level security LIKE and lower() are filters, never
    index conditions; see `suggest`).
    """
    text = text.strip()
    customer = _by_code(org, text, archived).first()
    if customer is not None:
        return customer
    label = LABEL.match(text)
    if label:
        customer = _by_code(org, label["code"].strip(), archived).filter(name__iexact=label["name"].strip()).first()
        if customer is not None:
            return customer
    found = list(customers_of(org, archived).filter(name__icontains=text)
                 .annotate(exact=Case(When(name__iexact=text, then=Value(True)), default=Value(False)))
                 .order_by("-exact", Lower("name"), "pk")[:4])
    exact = [c for c in found if c.exact]
    if len(exact) == 1 or len(found) == 1:
        return found[0]
    if not found:
        raise ValidationError(no_match_message(archived) % {"text": text}, code="no_match")
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

    def __init__(self, lookup_url: str, attrs=None, archived: bool = False):
        super().__init__(attrs)
        self.lookup_url = lookup_url
        self.archived = archived

    def format_value(self, value):
        return value

    def value_from_datadict(self, data, files, name):
        # No text input at all (a bookmarked ?customer=<id>, a form rendered as a select): None.
        return (data.get(f"{name}_text"), data.get(name, ""))

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}_text" not in data

    def render(self, name, value, attrs=None, renderer=None):
        value = value or {"text": "", "id": "", "data": {}}
        text_attrs = {"placeholder": gettext("Type a name or code"), **self.build_attrs(self.attrs, attrs)}
        text_attrs.update({"type": "text", "name": f"{name}_text", "value": value["text"], "autocomplete": "off",
                           "spellcheck": "false", "maxlength": str(MAX_TEXT), "data-lookup-url": self.lookup_url,
                           "data-no-match": no_match_message(self.archived) % {"text": "{text}"}})
        if self.archived:
            text_attrs["data-archived-label"] = gettext("archived")
        hidden = {"type": "hidden", "name": name, "value": value["id"],
                  **{f"data-{k}": v for k, v in value["data"].items()}}
        return format_html('<span class="customer-picker" data-customer-picker><input{}><input{}></span>',
                           flatatt(text_attrs), flatatt(hidden))


class CustomerPickerField(forms.Field):
    default_error_messages = {"required": _("Type a customer's name or code."),
                              "invalid_choice": _("That customer is not one of yours (any more).")}

    def __init__(self, *, org, lookup_url, archived=False, attrs=None, **kwargs):
        kwargs.setdefault("help_text", _("Type the customer's name or code."))
        super().__init__(widget=CustomerPicker(lookup_url, attrs, archived), **kwargs)
        self.org = org
        self.archived = archived
        self._resolved = {}

    def clean(self, value):
        text, pk = value if isinstance(value, (list, tuple)) else (None, value)
        pk = str(pk or "")
        if text is None and pk:  # only an id: look it up, there is no text to resolve
            customer = self._by_pk(pk)
            if customer is None:
                raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
            return customer
        text = (text or "").strip()
        if not text:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        if (text, pk) not in self._resolved:
            self._resolved[(text, pk)] = self._resolve(text, pk)
        result = self._resolved[(text, pk)]
        if isinstance(result, ValidationError):
            raise result
        return result

    def _by_pk(self, pk):
        return customers_of(self.org, self.archived).filter(pk=pk).first() if pk.isdigit() else None

    def _resolve(self, text, pk):
        # The id the script filled counts only while the text still names that customer: without
        # JavaScript, retyping the text leaves the previous id behind.
        customer = self._by_pk(pk)
        if customer is not None and str(customer) == text:
            return customer
        try:
            return resolve(self.org, text, self.archived)
        except ValidationError as e:
            return e

    def customer_for(self, value):
        """The customer a value names (an id, a Customer, or the widget's (text, id)), or None."""
        if isinstance(value, Customer):
            ok = value.organization_id == self.org.pk and (self.archived or not value.is_archived)
            return value if ok else None
        if isinstance(value, (list, tuple)):
            try:
                return self.clean(value)
            except ValidationError:
                return None
        return self._by_pk(str(value)) if value else None

    def prepare_value(self, value):
        """What the widget shows: the resolved customer's label and id, else the text as typed."""
        customer = self.customer_for(value)
        if customer is not None:
            return {"text": str(customer), "id": customer.pk, "data": live_data(customer)}
        text = value[0] if isinstance(value, (list, tuple)) else ""
        return {"text": text or "", "id": "", "data": {}}


def customer_field(org, *, select_widget=forms.Select, **kwargs):
    """A form's customer field: the select for a small organization, else the type-ahead."""
    if uses_picker(org):
        return CustomerPickerField(org=org, lookup_url=reverse("customer_lookup", kwargs={"org_slug": org.slug}),
                                   **kwargs)
    return CustomerChoiceField(queryset=active_customers(org).order_by("name", "pk"), widget=select_widget,
                               empty_label=_("Choose a customer…"),
                               error_messages={"invalid_choice": _("Choose one of your active customers.")}, **kwargs)


def customer_filter_field(org, *, archived: bool, empty_label, **kwargs):
    """A list's optional customer filter: a select of the organization's customers (with
    `archived`, archived ones too) up to CUSTOMER_SELECT_MAX of them, else the type-ahead, whose
    empty text means any customer. Either takes a bare ?customer=<id> (bookmarked URLs)."""
    if uses_picker(org, archived):
        url = reverse("customer_lookup", kwargs={"org_slug": org.slug}) + ("?archived=1" if archived else "")
        return CustomerPickerField(org=org, lookup_url=url, archived=archived, required=False, help_text="",
                                   attrs={"placeholder": empty_label, "class": "filter-customer"}, **kwargs)
    return CustomerChoiceField(queryset=customers_of(org, archived).only("pk", "name", "code").order_by("name", "pk"),
                               required=False, empty_label=empty_label, **kwargs)
