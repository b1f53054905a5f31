"""Forms of the invoicing screens: the draft editor (header + line formset), tax rates, invoice
settings and the lifecycle actions (void, write-off, dispute, credit notes), and the list filters.

Every form validates completely before anything is saved: a refused submission changes nothing.
"""

import string
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.customer_picker import (
    CustomerChoiceField,
    active_customers,
    customer_field,
    customer_filter_field,
    live_data,
)
from accounts.forms_fields import NumberField, NumberInput
from accounts.ledger import in_window
from accounts.models import Customer
from accounts.models_org import today_in
from accounts.money import MAX_ABS, MoneyError, check_exact, format_money, minor_units
from invoicing.models import Invoice, InvoiceSettings, TaxRate
from invoicing.numbering import format_number
from invoicing.services import MAX_LINES
from invoicing.totals import Totals, line_amounts, sum_lines

PERCENT_FIELD = {"max_digits": 7, "decimal_places": 4, "min_value": Decimal(0), "max_value": Decimal(100)}
PERCENT_ERRORS = {"min_value": _("Enter a percentage from 0 to 100."),
                  "max_value": _("Enter a percentage from 0 to 100.")}
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
EMAIL_PLACEHOLDERS = ("number", "organization", "customer", "amount_due", "due_date", "link", "total")


class HiddenErrorsMixin:
    """Errors of hidden fields (the idempotency key) are shown at the top of the form."""

    def full_clean(self):
        super().full_clean()
        for field in self.hidden_fields():
            for error in self.errors.get(field.name, []):
                if error not in self.non_field_errors():
                    self.errors.setdefault("__all__", self.error_class(error_class="nonfield")).append(error)


def qty_text(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


class IdempotencyKeyField(forms.RegexField):
    """A hidden per-rendered-form token: a double submission carries the same one."""

    def __init__(self, **kwargs):
        super().__init__(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput,
                         error_messages={"invalid": _("This form expired; reload the page and try again."),
                                         "required": _("This form expired; reload the page and try again.")},
                         **kwargs)


# --- The draft editor -------------------------------------------------------------------

class CustomerSelect(forms.Select):
    """Each option carries the customer's currency and terms for the live editor (the picker of a
    large organization puts the same attributes on its hidden input)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        customer = getattr(value, "instance", None)
        if customer is not None:
            option["attrs"].update({f"data-{k}": v for k, v in live_data(customer).items()})
        return option


def tax_rate_label(rate) -> str:
    """"Standard (20%)" (TaxRate.__str__ prints 2E+1 for 20.0000)."""
    return f"{rate.name} ({Decimal(rate.percent).normalize():f}%)"


class LineTaxField(forms.ChoiceField):
    """A line's tax rate, from a list of rates read once per formset (not once per line)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rates = {}

    def set_rates(self, rates):
        self.rates = {str(r.pk): r for r in rates}
        self.choices = [("", _("No tax"))] + [(pk, tax_rate_label(r)) for pk, r in self.rates.items()]

    def prepare_value(self, value):
        return str(getattr(value, "pk", value) or "")

    def clean(self, value):
        value = super().clean(value)
        return self.rates.get(value) if value else None


class InvoiceForm(forms.ModelForm):
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DATE_WIDGET,
                               help_text=_("Leave empty to use the customer's payment terms."))
    discount_percent = NumberField(label=_("Invoice discount (%)"), required=False,
                                          error_messages=PERCENT_ERRORS, **PERCENT_FIELD)

    class Meta:
        model = Invoice
        fields = ["customer", "issue_date", "due_date", "reference", "discount_percent", "notes", "terms"]
        widgets = {"issue_date": DATE_WIDGET,
                   "notes": forms.Textarea(attrs={"rows": 3}), "terms": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, org, plain_customer=False, **kwargs):
        """plain_customer: the customer by id only, no widget (the JSON API): the same choice of
        active customers, without counting them to pick a widget."""
        super().__init__(*args, **kwargs)
        self.org = org
        if plain_customer:
            self.fields["customer"] = CustomerChoiceField(
                queryset=active_customers(org), label=_("Customer"),
                error_messages={"invalid_choice": _("Choose one of your active customers.")})
        else:
            self.fields["customer"] = customer_field(org, label=_("Customer"), select_widget=CustomerSelect)
        self.fields["issue_date"].input_formats = ["%Y-%m-%d"]
        self.fields["due_date"].input_formats = ["%Y-%m-%d"]

    def clean_issue_date(self):
        issued = self.cleaned_data["issue_date"]
        if not in_window(issued, self.org.today()):
            raise ValidationError(_("Use an issue date within the last ten years and at most a year ahead."))
        return issued

    def clean_discount_percent(self):
        return self.cleaned_data.get("discount_percent") or Decimal(0)

    def clean(self):
        data = super().clean()
        customer, issued, due = data.get("customer"), data.get("issue_date"), data.get("due_date")
        if issued and due is None and "due_date" not in self.errors and customer is not None:
            data["due_date"] = issued + timedelta(days=customer.payment_terms_days)
        elif issued and due and due < issued:
            self.add_error("due_date", _("The due date cannot be before the issue date."))
        return data

    def _post_clean(self):
        # Model validation runs in the service, under a lock; the form only checks input.
        pass

    @property
    def currency(self) -> str | None:
        customer = self.cleaned_data.get("customer") if hasattr(self, "cleaned_data") else None
        if customer is not None:
            return customer.currency
        return self.instance.currency or None


class InvoiceLineForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=500,
                                  widget=forms.TextInput(attrs={"class": "line-description"}))
    quantity = NumberField(label=_("Quantity"), max_digits=12, decimal_places=3, min_value=Decimal("0.001"),
                                  error_messages={"min_value": _("Enter a quantity greater than zero.")},
                                  widget=NumberInput(attrs={"inputmode": "decimal", "class": "line-qty"}))
    unit = forms.CharField(label=_("Unit"), max_length=20, required=False,
                           widget=forms.TextInput(attrs={"class": "line-unit"}))
    unit_price = NumberField(label=_("Unit price"), max_digits=18, decimal_places=4, min_value=Decimal(0),
                                    error_messages={"min_value": _("A price cannot be negative.")},
                                    widget=NumberInput(attrs={"inputmode": "decimal", "class": "line-price"}))
    discount_percent = NumberField(label=_("Discount %"), required=False, error_messages=PERCENT_ERRORS,
                                          widget=NumberInput(attrs={"inputmode": "decimal",
                                                                        "class": "line-discount"}),
                                          **PERCENT_FIELD)
    tax_rate = LineTaxField(label=_("Tax"), required=False,
                            error_messages={"invalid_choice": _("Choose one of your tax rates.")})
    # The catalogue item the line was filled from (static/js/item_picker.js); resolved to this
    # organization's item by the editor, dropped if it is not one.
    item = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    MEANINGFUL = ("description", "quantity", "unit_price")

    def __init__(self, *args, tax_rates=None, **kwargs):
        kwargs["empty_permitted"] = True
        kwargs["use_required_attribute"] = False
        super().__init__(*args, **kwargs)
        self.fields["tax_rate"].set_rates(tax_rates or [])

    def has_changed(self):
        """A row counts only when it has a description, quantity or price; blank rows are dropped."""
        if not self.is_bound:
            return False
        return any((self.data.get(self.add_prefix(name)) or "").strip() for name in self.MEANINGFUL)

    def clean_discount_percent(self):
        return self.cleaned_data.get("discount_percent") or Decimal(0)


class BaseLineFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": _("An invoice can have at most %(num)d lines."),
        "too_few_forms": _("Add at least one line."),
    }

    def __init__(self, *args, tax_rates=None, **kwargs):
        self.tax_rates = list(tax_rates) if tax_rates is not None else []
        super().__init__(*args, **kwargs)

    def tax_options(self):
        """[(value, label, percent)] for the hand-written line rows (rendering 500 selects is slow)."""
        return [("", _("No tax"), "0")] + [(str(r.pk), tax_rate_label(r), str(r.percent)) for r in self.tax_rates]

    def get_form_kwargs(self, index):
        return {"tax_rates": self.tax_rates}

    @property
    def empty_form(self):
        form = self.form(auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"),
                         tax_rates=self.tax_rates, renderer=self.renderer)
        self.add_fields(form, None)
        return form

    def kept_forms(self):
        return [f for f in self.forms if f.has_changed() and not self._should_delete_form(f)]

    def clean(self):
        if any(self.errors):
            return
        if not self.kept_forms():
            raise ValidationError(_("Add at least one line."), code="too_few_forms")

    def lines(self) -> list[dict]:
        return [f.cleaned_data for f in self.kept_forms()]


LineFormSet = forms.formset_factory(InvoiceLineForm, formset=BaseLineFormSet, extra=0, can_delete=True,
                                    max_num=MAX_LINES, validate_max=True, absolute_max=MAX_LINES)


def active_tax_rates(org, keep=()):
    """This organization's rates for new lines (archived ones only where a draft already uses them)."""
    from django.db.models import Q

    return TaxRate.objects.filter(Q(archived=False) | Q(pk__in=list(keep)), organization=org)


@dataclass
class Preview:
    totals: Totals
    lines: list  # [(line dict, LineAmounts)]


def preview_totals(lines: list[dict], invoice_discount: Decimal, currency: str) -> Preview:
    """The amounts the invoice will have, by the one rule in invoicing.totals."""
    amounts = []
    for line in lines:
        tax_percent = line["tax_rate"].percent if line.get("tax_rate") else Decimal(0)
        a = line_amounts(line["quantity"], line["unit_price"], line.get("discount_percent") or Decimal(0),
                         invoice_discount, tax_percent, currency)
        amounts.append((tax_percent, a))
    return Preview(sum_lines(amounts), [(line, a) for line, (_p, a) in zip(lines, amounts, strict=True)])


def check_preview(preview: Preview, formset: BaseLineFormSet) -> bool:
    """Refuse amounts the ledger cannot store; errors go on the offending lines."""
    ok = True
    for form, (_line, a) in zip(formset.kept_forms(), preview.lines, strict=True):
        if abs(a.gross) > MAX_ABS or abs(a.net) + abs(a.tax) > MAX_ABS:
            form.add_error("quantity", _("This line's amount is beyond the largest amount the ledger stores."))
            ok = False
    if ok and preview.totals.total > MAX_ABS:
        formset._non_form_errors = formset.error_class(
            [_("The invoice total is beyond the largest amount the ledger stores.")])
        ok = False
    return ok


# --- Settings: tax rates and invoice settings -------------------------------------------

class TaxRateForm(forms.ModelForm):
    percent = NumberField(label=_("Rate (%)"), error_messages=PERCENT_ERRORS, **PERCENT_FIELD)

    class Meta:
        model = TaxRate
        fields = ["name", "percent", "category", "exemption_reason"]
        help_texts = {
            "category": _("For e-invoices. Empty: zero rated (Z) at 0 %, standard (S) otherwise."),
            "exemption_reason": _("Printed on e-invoices for E, AE, K, G and O, e.g. “Reverse charge, "
                                  "article 196 of Directive 2006/112/EC”."),
        }

    def clean(self):
        """EN 16931: S carries a rate above 0; every other category carries none, and all but Z
        say why (BR-E-10, BR-AE-10, BR-IC-10, BR-G-10, BR-O-10)."""
        data = super().clean()
        category, percent = data.get("category") or "", data.get("percent")
        reason = (data.get("exemption_reason") or "").strip()
        data["exemption_reason"] = reason
        if percent is not None and category == "S" and percent <= 0:
            self.add_error("percent", _("A standard-rated (S) tax has a rate above 0 %."))
        if percent is not None and category and category != "S" and percent != 0:
            self.add_error("percent", _("Category %(code)s carries no VAT: the rate is 0 %%.") % {"code": category})
        if category in ("E", "AE", "K", "G", "O") and not reason:
            self.add_error("exemption_reason", _("Say why no VAT is due (category %(code)s): e-invoices must.")
                           % {"code": category})
        if reason and category not in ("E", "AE", "K", "G", "O"):
            self.add_error("exemption_reason", _("Only exempt, reverse-charge, intra-EU, export and out-of-scope "
                                                 "categories carry an exemption reason."))
        return data

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if TaxRate.objects.filter(organization=self.org, name__iexact=name).exists():
            raise ValidationError(_("A tax rate with this name exists already."))
        return name

    def _post_clean(self):
        super()._post_clean()

    def save(self, commit=True):
        self.instance.organization = self.org
        return super().save(commit)


class InvoiceSettingsForm(forms.ModelForm):
    class Meta:
        model = InvoiceSettings
        fields = ["invoice_prefix", "credit_note_prefix", "number_includes_year", "number_padding", "reset_yearly",
                  "paper_size", "payment_methods", "bank_details", "default_terms", "default_notes",
                  "email_subject", "email_body"]
        widgets = {"bank_details": forms.Textarea(attrs={"rows": 3}),
                   "default_terms": forms.Textarea(attrs={"rows": 3}),
                   "default_notes": forms.Textarea(attrs={"rows": 3}),
                   "email_body": forms.Textarea(attrs={"rows": 8})}
        help_texts = {
            "email_subject": _("Placeholders: {number} {organization} {customer} {amount_due} {due_date} {total}"),
            "email_body": _("Placeholders: {number} {organization} {customer} {amount_due} {due_date} {total} "
                            "{link}"),
            "reset_yearly": _("Only together with the year in the number, so numbers never repeat."),
        }

    PREFIX_CHARS = set(string.ascii_letters + string.digits + "-_/.#")

    def _clean_prefix(self, name):
        value = self.cleaned_data[name].strip()
        if any(c not in self.PREFIX_CHARS for c in value):
            raise ValidationError(_("Use letters, digits and - _ / . # only."))
        return value

    def clean_invoice_prefix(self):
        return self._clean_prefix("invoice_prefix")

    def clean_credit_note_prefix(self):
        return self._clean_prefix("credit_note_prefix")

    def _clean_template(self, name, allowed):
        value = self.cleaned_data[name]
        try:
            fields = [f for _lit, f, _spec, _conv in string.Formatter().parse(value) if f is not None]
        except ValueError as e:
            raise ValidationError(_("Unbalanced braces: write {{ and }} for literal braces.")) from e
        unknown = sorted({f for f in fields if f not in allowed})
        if unknown:
            raise ValidationError(_("Unknown placeholder(s): %(names)s. Use: %(allowed)s.")
                                  % {"names": ", ".join("{" + f + "}" for f in unknown),
                                     "allowed": " ".join("{" + a + "}" for a in allowed)})
        return value

    def clean_email_subject(self):
        return self._clean_template("email_subject", EMAIL_PLACEHOLDERS)

    def clean_email_body(self):
        return self._clean_template("email_body", EMAIL_PLACEHOLDERS)

    def clean(self):
        data = super().clean()
        if data.get("reset_yearly") and not data.get("number_includes_year"):
            self.add_error("reset_yearly", _("Numbers can restart every year only if they include the year; "
                                             "otherwise next year's numbers would repeat this year's."))
            return data
        if not self.errors:
            self._refuse_colliding_numbers(data)
        return data

    def _refuse_colliding_numbers(self, data):
        """A changed pattern must not lead the next numbers into ones already used."""
        from invoicing.models import CreditNote

        candidate = InvoiceSettings(**{f: data[f] for f in self.Meta.fields if f in data})
        for kind, model in (("invoice", Invoice), ("credit_note", CreditNote)):
            n = next_number_value(self.instance.organization, candidate, kind)
            prefix = format_number(candidate, kind, today_in().year, 0)[:-candidate.number_padding]
            used = model.objects.filter(organization=self.instance.organization, number__startswith=prefix)
            highest = max((_suffix(num, prefix) for num in used.values_list("number", flat=True)), default=0)
            if highest >= n:
                field = "invoice_prefix" if kind == "invoice" else "credit_note_prefix"
                self.add_error(field, _("With these settings the next number would be %(next)s, but numbers up "
                                        "to %(prefix)s%(highest)s are already used. Choose another prefix.")
                               % {"next": format_number(candidate, kind, today_in().year, n),
                                  "prefix": prefix, "highest": highest})


def _suffix(number: str, prefix: str) -> int:
    tail = number[len(prefix):]
    return int(tail) if tail.isdigit() else 0


def next_number_value(org, settings: InvoiceSettings, kind: str) -> int:
    from invoicing.models import NumberSeries

    year = today_in(org).year if settings.reset_yearly else 0
    series = NumberSeries.objects.filter(organization=org, kind=kind, year=year).first()
    return (series.last_number if series else 0) + 1


def next_number_example(org, settings: InvoiceSettings, kind: str = "invoice") -> str:
    return format_number(settings, kind, today_in(org).year, next_number_value(org, settings, kind))



# --- Lifecycle actions ------------------------------------------------------------------

class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Why is this invoice voided?"), max_length=500,
                             widget=forms.TextInput(attrs={"autofocus": True}))


class MoneyFormMixin:
    currency: str = ""

    def _clean_money(self, name):
        amount = self.cleaned_data[name]
        try:
            return check_exact(amount, self.currency)
        except MoneyError:
            raise ValidationError(_("Use at most %(n)s decimals for %(cur)s.")
                                  % {"n": minor_units(self.currency), "cur": self.currency}) from None


class WriteOffForm(HiddenErrorsMixin, MoneyFormMixin, forms.Form):
    amount = NumberField(label=_("Amount to write off"), max_digits=18, decimal_places=3,
                                min_value=Decimal("0.001"),
                                error_messages={"min_value": _("Write off an amount greater than zero.")})
    reason = forms.CharField(label=_("Reason"), max_length=500)
    idempotency_key = IdempotencyKeyField()

    def __init__(self, *args, invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice, self.currency = invoice, invoice.currency

    def clean_amount(self):
        amount = self._clean_money("amount")
        if amount > self.invoice.amount_due:
            raise ValidationError(_("At most the amount due (%(due)s).")
                                  % {"due": format_money(self.invoice.amount_due, self.currency)})
        return amount


class DisputeForm(forms.Form):
    reason = forms.CharField(label=_("What is disputed?"), max_length=500)
    until = forms.DateField(label=_("Hold until (optional)"), required=False, widget=DATE_WIDGET,
                            input_formats=["%Y-%m-%d"],
                            help_text=_("Reminders pause until then; leave empty to hold until resolved."))

    def clean_until(self):
        until = self.cleaned_data.get("until")
        if until and until < today_in():
            raise ValidationError(_("The hold must end today or later."))
        return until


class CreditLinesForm(HiddenErrorsMixin, forms.Form):
    """One quantity field per invoice line, up to what is not yet credited."""

    reason = forms.CharField(label=_("Reason"), max_length=500)
    idempotency_key = IdempotencyKeyField()

    def __init__(self, *args, invoice, lines, credited, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice, self.rows = invoice, []
        for line in lines:
            left = line.quantity - credited.get(line.pk, Decimal(0))
            name = f"qty_{line.pk}"
            self.fields[name] = NumberField(
                label=line.description, required=False, max_digits=12, decimal_places=3, min_value=Decimal(0),
                max_value=left, widget=NumberInput(attrs={"inputmode": "decimal", "size": 6}),
                error_messages={"max_value": _("At most %(left)s can still be credited.") % {"left": qty_text(left)},
                                "min_value": _("Enter a quantity of 0 or more.")})
            self.rows.append((line, left, name))

    def bound_rows(self):
        return [(line, left, self[name]) for line, left, name in self.rows]

    def quantities(self) -> dict[int, Decimal]:
        return {line.pk: self.cleaned_data[name] for line, _left, name in self.rows if self.cleaned_data.get(name)}

    def clean(self):
        data = super().clean()
        if not self.errors and not self.quantities():
            raise ValidationError(_("Enter a quantity to credit on at least one line."))
        return data


class CreditAmountForm(HiddenErrorsMixin, MoneyFormMixin, forms.Form):
    amount = NumberField(label=_("Amount to credit (tax included)"), max_digits=18, decimal_places=3,
                                min_value=Decimal("0.001"),
                                error_messages={"min_value": _("Credit an amount greater than zero.")})
    tax_percent = forms.TypedChoiceField(label=_("Tax included at"), coerce=Decimal, empty_value=Decimal(0))
    reason = forms.CharField(label=_("Reason"), max_length=500)
    idempotency_key = IdempotencyKeyField()

    def __init__(self, *args, currency, percents, limit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency, self.limit = currency, limit
        self.fields["tax_percent"].choices = [(percent_value(p), f"{percent_value(p)} %") for p in percents]

    def clean_amount(self):
        amount = self._clean_money("amount")
        if self.limit is not None and amount > self.limit:
            raise ValidationError(_("At most %(limit)s can still be credited on this invoice.")
                                  % {"limit": format_money(self.limit, self.currency)})
        return amount


def percent_value(p: Decimal) -> str:
    """20.0000 → "20", 7.5000 → "7.5": the same text whatever the stored scale."""
    return f"{Decimal(p).normalize():f}"


class StandaloneCreditForm(CreditAmountForm):
    """A credit for the customer, not tied to an invoice: it stays as unapplied credit."""


# --- The invoice list's filters ---------------------------------------------------------

STATUS_FILTERS = [
    ("", _("Any status")), ("draft", _("Draft")), ("open", _("Open")), ("overdue", _("Overdue")),
    ("paid", _("Paid")), ("written_off", _("Written off")), ("void", _("Void")), ("disputed", _("Disputed")),
]


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label=_("Search"))
    status = forms.ChoiceField(required=False, choices=STATUS_FILTERS, label=_("Status"))
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), required=False)  # set per organization
    date_from = forms.DateField(required=False, label=_("Issued from"), widget=DATE_WIDGET,
                                input_formats=["%Y-%m-%d"])
    date_to = forms.DateField(required=False, label=_("to"), widget=DATE_WIDGET, input_formats=["%Y-%m-%d"])
    amount_min = NumberField(required=False, label=_("Total from"), max_digits=18, decimal_places=3,
                                    widget=NumberInput(attrs={"inputmode": "decimal", "size": 8}))
    amount_max = NumberField(required=False, label=_("to"), max_digits=18, decimal_places=3,
                                    widget=NumberInput(attrs={"inputmode": "decimal", "size": 8}))

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        # Archived customers too: their invoices are history worth finding.
        self.fields["customer"] = customer_filter_field(org, archived=True, label=_("Customer"),
                                                        empty_label=_("Any customer"))
