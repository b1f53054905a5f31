"""Forms of the ledger pages: the chart of accounts, the general journal, reversals, filters.

Amounts are typed as text and parsed strictly into Decimal (digits and one decimal point): an
exponent, a comma, a sign, "NaN" or more decimals than the currency has are refused with a
message, never rounded.
"""

import re
from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.forms import CurrencyField
from accounts.locale import NumberInputError, parse_number
from accounts.models import Customer
from accounts.models_ledger import Account, AccountType
from accounts.models_org import today_in
from accounts.money import MAX_ABS, minor_units, quantum

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CODE_RE = r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,9}$"
MAX_GJ_LINES = 50


def parse_amount(text: str, currency: str) -> Decimal:
    """'1,234.5' (in the organization's way of writing numbers, accounts.locale) ->
    Decimal('1234.5'); anything else raises ValidationError with a clear message."""
    text = text.strip()
    if text.startswith(("-", "\u2212")):
        raise ValidationError(_("Enter a positive amount; use the other column for the opposite side."))
    try:
        amount = parse_number(text)
    except NumberInputError as e:
        raise ValidationError(str(e)) from None
    if amount is None:
        raise ValidationError(_("Enter a debit or a credit amount."))
    places = minor_units(currency)
    if amount > MAX_ABS:
        raise ValidationError(_("This amount is larger than the ledger stores."))
    exact = amount.quantize(quantum(currency))
    if exact != amount:
        if places == 0:
            raise ValidationError(_("%(cur)s has no decimals.") % {"cur": currency})
        raise ValidationError(_("Use at most %(n)s decimals for %(cur)s.") % {"n": places, "cur": currency})
    if exact == 0:
        raise ValidationError(_("A line cannot be zero; leave the row empty instead."))
    return exact


class IdempotencyKeyField(forms.RegexField):
    """A hidden token made when the form is rendered: a double submission carries the same one."""

    def __init__(self, **kwargs):
        message = _("This form expired; reload the page and try again.")
        super().__init__(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput,
                         error_messages={"invalid": message, "required": message}, **kwargs)


# --- Filters -------------------------------------------------------------------------------

class DateRangeForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=DATE_WIDGET, input_formats=["%Y-%m-%d"])
    end = forms.DateField(label=_("To"), required=False, widget=DATE_WIDGET, input_formats=["%Y-%m-%d"])

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError(_("The start date is after the end date."))
        # Ledger dates fit in a year ±1 of today's range; keep arithmetic (start - 1 day) safe.
        if start and start <= date.min.replace(year=2):
            self.add_error("start", _("Enter a later date."))
        return data

    def range(self):
        if not self.is_valid():
            return None, None
        return self.cleaned_data.get("start"), self.cleaned_data.get("end")


class JournalFilterForm(DateRangeForm):
    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.none(), required=False,
                                     empty_label=_("All accounts"))
    customer = forms.CharField(label=_("Customer code"), required=False, max_length=20)
    source = forms.ChoiceField(label=_("Source"), required=False)

    def __init__(self, *args, org, source_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["account"].queryset = Account.objects.filter(organization=org).order_by("code")
        self.fields["source"].choices = [("", _("All sources"))] + source_choices

    def clean_customer(self):
        code = self.cleaned_data["customer"].strip()
        if not code:
            return None
        customer = Customer.objects.filter(organization=self.org, code__iexact=code).first()
        if customer is None:
            raise ValidationError(_("No customer has the code “%(code)s”.") % {"code": code})
        return customer


class AsOfForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), required=False, widget=DATE_WIDGET, input_formats=["%Y-%m-%d"])


# --- Chart of accounts ---------------------------------------------------------------------

class AccountForm(forms.ModelForm):
    code = forms.RegexField(label=_("Code"), regex=CODE_RE, max_length=10,
                            error_messages={"invalid": _("Use 1–10 letters, digits, points or hyphens, "
                                                         "starting with a letter or digit.")})

    class Meta:
        model = Account
        fields = ["code", "name", "type"]

    def __init__(self, *args, org, type_locked=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["name"].widget.attrs["maxlength"] = 100
        self.fields["type"].choices = [("", _("Choose a type…")), *AccountType.choices]
        if type_locked:
            self.fields["type"].disabled = True
            self.fields["type"].help_text = _("Fixed: the account is used by the posting rules or has postings.")

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        clash = Account.objects.filter(organization=self.org, code__iexact=code)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        other = clash.first()
        if other is not None:
            raise ValidationError(_("Code %(code)s is already used by “%(name)s”.")
                                  % {"code": other.code, "name": other.name})
        return code

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("Enter a name."))
        return name


# --- General journal -----------------------------------------------------------------------

class JournalHeaderForm(forms.Form):
    effective_date = forms.DateField(label=_("Date"), widget=DATE_WIDGET, input_formats=["%Y-%m-%d"])
    currency = CurrencyField(help_text=_("For every line."))
    memo = forms.CharField(label=_("Description"), max_length=500, required=False,
                           help_text=_("Shown in the journal; empty means the reason."))
    reason = forms.CharField(label=_("Reason for the adjustment"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("Required: kept with the entry for the audit trail."))
    idempotency_key = IdempotencyKeyField()

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("Say why this adjustment is made."))
        return reason


RECEIVABLE_REFUSED = _("Accounts receivable changes only through invoices, credit notes, payments and write-offs, "
                       "so each customer's open items always add up to their balance.")


class JournalAccountField(forms.ModelChoiceField):
    """The accounts a manual entry may use: all of the organization's but Accounts receivable.
    A posted AR account id (a forged form) gets its own message rather than "not a valid choice"."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Account.objects.none(), **kwargs)
        self.receivable = Account.objects.none()

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as e:
            if e.code == "invalid_choice" and re.fullmatch(r"[0-9]{1,18}", str(value)) \
                    and self.receivable.filter(pk=int(value)).exists():
                raise ValidationError(RECEIVABLE_REFUSED, code="receivable") from e
            raise


class JournalLineForm(forms.Form):
    account = JournalAccountField(label=_("Account"), required=False, empty_label="—")
    debit = forms.CharField(label=_("Debit"), required=False, max_length=30,
                            widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}))
    credit = forms.CharField(label=_("Credit"), required=False, max_length=30,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}))

    def __init__(self, *args, org, currency, **kwargs):
        super().__init__(*args, **kwargs)
        self.org, self.currency = org, currency
        accounts = Account.objects.filter(organization=org)
        self.fields["account"].queryset = accounts.exclude(system_key="ar").order_by("code")
        self.fields["account"].receivable = accounts.filter(system_key="ar")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        account = data.get("account")
        debit_text, credit_text = data.get("debit", "").strip(), data.get("credit", "").strip()
        if not (account or debit_text or credit_text):
            data["empty"] = True
            return data
        if account is None:
            self.add_error("account", _("Choose an account."))
        if debit_text and credit_text:
            raise ValidationError(_("Enter either a debit or a credit on a line, not both."))
        if not debit_text and not credit_text:
            raise ValidationError(_("Enter a debit or a credit amount."))
        field, text = ("debit", debit_text) if debit_text else ("credit", credit_text)
        try:
            amount = parse_amount(text, self.currency)
        except ValidationError as e:
            self.add_error(field, e)
            return data
        data["amount"] = amount if field == "debit" else -amount
        return data


class BaseJournalLineFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        lines = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("empty")]
        if len(lines) < 2:
            raise ValidationError(_("An entry needs at least two lines."))
        total = sum((line["amount"] for line in lines), Decimal(0))
        if total != 0:
            debits = sum((line["amount"] for line in lines if line["amount"] > 0), Decimal(0))
            raise ValidationError(
                _("Debits (%(d)s) and credits (%(c)s) differ by %(diff)s; the entry must balance.")
                % {"d": debits, "c": debits - total, "diff": abs(total)})

    def lines(self):
        return [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("empty")]


JournalLineFormSet = forms.formset_factory(
    JournalLineForm, formset=BaseJournalLineFormSet, extra=0, max_num=MAX_GJ_LINES, validate_max=True,
    absolute_max=MAX_GJ_LINES)


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    effective_date = forms.DateField(label=_("Date of the reversal"), widget=DATE_WIDGET,
                                     input_formats=["%Y-%m-%d"], required=False,
                                     help_text=_("Empty means today."))

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("Say why this entry is reversed."))
        return reason

    def clean_effective_date(self):
        return self.cleaned_data.get("effective_date") or today_in()
