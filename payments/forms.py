"""Forms of the payments pages. Rules live in payments.services; these only read input and
give field-level messages early. Every write form carries a per-rendered-form key."""

import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.customer_picker import customer_field, customer_filter_field
from accounts.forms import CurrencyField
from accounts.forms_fields import amount_field
from accounts.models import Customer
from accounts.models_org import today_in
from accounts.money import MoneyError, check_exact, format_money
from payments.models import PaymentMethod
from payments.services import AUTO, MANUAL, deposit_accounts, future_limit, parse_amount

ALLOC_FIELD = re.compile(r"^alloc-(.+)$")


class KeyField(forms.RegexField):
    """A hidden per-rendered-form token: a double submission carries the same one."""

    def __init__(self, **kwargs):
        super().__init__(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput, error_messages={
            "required": _("The form is missing its submission key; reload the page and try again."),
            "invalid": _("The form is missing its submission key; reload the page and try again."),
        }, **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _money_field(label, **kwargs):
    return amount_field(label, **kwargs)


class DateNotFutureMixin:
    def _not_future(self, name):
        day = self.cleaned_data.get(name)
        if day and day > future_limit():
            raise forms.ValidationError(
                _("%(day)s is in the future; at most %(limit)s is accepted.")
                % {"day": day.isoformat(), "limit": future_limit().isoformat()})
        return day


class AllocationModeForm(forms.Form):
    mode = forms.ChoiceField(label=_("Allocate"), widget=forms.RadioSelect, initial=AUTO, choices=[
        (AUTO, _("Automatically, oldest due first")), (MANUAL, _("Manually: the amounts below"))])
    idempotency_key = KeyField()


class PaymentForm(DateNotFutureMixin, AllocationModeForm):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())  # set per organization
    amount = _money_field(_("Amount"))
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3,
                               widget=forms.TextInput(attrs={"size": 4, "autocomplete": "off",
                                                             "style": "text-transform: uppercase"}))
    received_date = forms.DateField(label=_("Date received"), widget=DateInput())
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    deposit_account = forms.ModelChoiceField(label=_("Deposited to"), queryset=None, empty_label=None)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False,
                                help_text=_("Bank reference, cheque number, card transaction…"))
    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))

    # Money received in another currency than the customer's (issue 17): what the bank got; the amount
    # above is what the customer's account is credited, so the rate is theirs (payments.services).
    received_amount = _money_field(_("Received in another currency"), required=False,
                                   help_text=_("Only when the money came in another currency than the "
                                               "customer's: the amount the bank received."))
    received_currency = CurrencyField(label=_("Currency received"), required=False)
    # Shown (as a checkbox) only when the rate the two amounts make is far from the day's (view).
    confirm_rate = forms.BooleanField(label=_("Yes, this rate is right"), required=False, widget=forms.HiddenInput)

    # Shown (as a checkbox) only when the amount is far above what the customer owes (view).
    confirm_large = forms.BooleanField(label=_("Yes, record this amount"), required=False,
                                       widget=forms.HiddenInput)

    field_order = ["customer", "amount", "confirm_large", "currency", "received_date", "method", "deposit_account",
                   "reference", "notes", "received_amount", "received_currency", "confirm_rate", "mode",
                   "idempotency_key"]

    def ask_rate_confirmation(self, message):
        self.fields["confirm_rate"].widget = forms.CheckboxInput()
        self.add_error("received_amount", message)

    def conversion(self):
        """(amount received, its currency, the rate the two amounts make) or None (same currency)."""
        data = self.cleaned_data
        if not data.get("received_currency"):
            return None
        return (data["received_amount"], data["received_currency"],
                (data["amount"] / data["received_amount"]).quantize(Decimal("1e-12")))

    def ask_large_confirmation(self, owed):
        self.fields["confirm_large"].widget = forms.CheckboxInput()
        self.add_error("amount", _("This is far more than %(name)s owes (%(owed)s). Check the amount; if it is "
                                   "right, tick the box below and save again.")
                       % {"name": self.cleaned_data["customer"].name,
                          "owed": format_money(owed, self.cleaned_data["customer"].currency)})

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["customer"] = customer_field(org, label=_("Customer"))
        # Three accounts, read once: the choices and the view's default come from this list.
        self.accounts = list(deposit_accounts(org))
        self.fields["deposit_account"].queryset = deposit_accounts(org)
        self.fields["deposit_account"].choices = [(a.pk, a.name) for a in self.accounts]
        self.fields["received_date"].help_text = _("At most %(n)s day(s) ahead of today.") % {
            "n": (future_limit() - today_in()).days}

    def chosen_customer(self):
        """The customer the submitted field names, before (and whether or not) the form validates."""
        return self.fields["customer"].customer_for(self["customer"].data)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount <= 0:
            raise forms.ValidationError(_("Enter an amount greater than zero."))
        return amount

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()

    def clean_received_date(self):
        return self._not_future("received_date")

    def clean(self):
        data = super().clean()
        customer, currency, amount = data.get("customer"), data.get("currency"), data.get("amount")
        if customer and currency and currency != customer.currency:
            self.add_error("currency", _("%(name)s pays in %(cur)s.") % {"name": customer.name,
                                                                         "cur": customer.currency})
        elif customer and amount is not None:
            try:
                check_exact(amount, customer.currency)
            except MoneyError as e:
                self.add_error("amount", str(e))
        received, received_currency = data.get("received_amount"), data.get("received_currency")
        if received is not None or received_currency:
            if received is None or not received_currency:
                self.add_error("received_amount", _("Enter both the amount received and its currency, or neither."))
            elif customer and received_currency == customer.currency:
                self.add_error("received_currency", _("%(cur)s is the customer's own currency: leave these blank.")
                               % {"cur": received_currency})
            elif received <= 0:
                self.add_error("received_amount", _("Enter an amount greater than zero."))
            else:
                try:
                    check_exact(received, received_currency)
                except MoneyError as e:
                    self.add_error("received_amount", str(e))
        return data


def manual_amounts(data) -> dict:
    """The `alloc-<invoice id>` inputs as {id: Decimal | None | "invalid"}; a non-numeric id
    becomes -1 (forged; refused by the plan)."""
    out = {}
    for name, raw in data.items():
        match = ALLOC_FIELD.match(name)
        if not match:
            continue
        ident = int(match.group(1)) if match.group(1).isdigit() else -1
        try:
            out[ident] = parse_amount(raw)
        except ValueError:
            out[ident] = "invalid"
    return out


class RefundForm(DateNotFutureMixin, forms.Form):
    amount = _money_field(_("Amount to refund"))
    refund_date = forms.DateField(label=_("Refund date"), widget=DateInput())
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    account = forms.ModelChoiceField(label=_("Paid from"), queryset=None, empty_label=None)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
    notes = forms.CharField(label=_("Reason / notes"), max_length=500, required=False)
    idempotency_key = KeyField()

    def __init__(self, *args, payment, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.fields["account"].queryset = deposit_accounts(payment.organization_id)
        self.fields["account"].label_from_instance = lambda a: a.name

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError(_("Enter an amount greater than zero."))
        try:
            check_exact(amount, self.payment.currency)
        except MoneyError as e:
            raise forms.ValidationError(str(e)) from e
        if amount > self.payment.unapplied:
            raise forms.ValidationError(_("At most the unapplied %(open)s can be refunded.")
                                        % {"open": format_money(self.payment.unapplied, self.payment.currency)})
        return amount

    def clean_refund_date(self):
        return self._not_future("refund_date")


class ReverseForm(DateNotFutureMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500,
                             help_text=_("E.g. “cheque returned: insufficient funds”. Shown on the invoices."))
    effective_date = forms.DateField(label=_("Date of the reversal"), widget=DateInput())
    idempotency_key = KeyField()

    def clean_effective_date(self):
        return self._not_future("effective_date")


class UnapplyForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500,
                             help_text=_("E.g. “applied to the wrong invoice”. Shown on the invoice."))
    idempotency_key = KeyField()



class PaymentFilterForm(forms.Form):
    q = forms.CharField(label=_("Reference"), required=False, max_length=100)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    customer = forms.ModelChoiceField(required=False, queryset=Customer.objects.none())  # set per organization
    method = forms.ChoiceField(label=_("Method"), required=False,
                               choices=[("", _("All methods")), *PaymentMethod.choices])
    account = forms.ModelChoiceField(label=_("Deposited to"), required=False, queryset=None,
                                     empty_label=_("All accounts"))
    unapplied = forms.BooleanField(label=_("Unapplied only"), required=False)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        # Archived customers too, as before: their payments are history worth finding.
        self.fields["customer"] = customer_filter_field(org, archived=True, label=_("Customer"),
                                                        empty_label=_("All customers"))
        self.fields["account"].queryset = deposit_accounts(org)
        self.fields["account"].label_from_instance = lambda a: a.name
