"""Report filters (GET forms) and the report settings form."""

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.credit_terms import CreditTermsError, clean_overdue_days, overdue_days
from accounts.forms_fields import NumberField
from accounts.models import Organization
from accounts.models_org import today_in
from reports.models import AgingBasis, ReportSettings, ReportSubscription

DATE = forms.DateInput(attrs={"type": "date"})
MAX_RANGE_DAYS = 3700


def bound(form_class, request, **kwargs):
    """Bind a filter form to the query string and validate it. A parameter the query leaves out takes
    its default (a link such as the dashboard's ?currency=EUR&overdue=on is not an error)."""
    data = request.GET.copy()
    blank = form_class(**kwargs)
    for name, value in blank.initial_data().items():
        # A checkbox left out of a submitted query is unticked, not defaulted.
        if not request.GET or not isinstance(blank.fields[name], forms.BooleanField):
            data.setdefault(name, value)
    form = form_class(data, **kwargs)
    form.is_valid()
    return form


class FilterForm(forms.Form):
    def initial_data(self) -> dict:
        return {name: (f.initial() if callable(f.initial) else f.initial) for name, f in self.fields.items()
                if f.initial is not None}

    def value(self, name):
        """The cleaned value, or the field's default when the input was invalid."""
        if hasattr(self, "cleaned_data") and name in self.cleaned_data and self.cleaned_data[name] not in (None, ""):
            return self.cleaned_data[name]
        initial = self.fields[name].initial
        return initial() if callable(initial) else initial


BASE_CHOICE = "*"  # the currency choice "all currencies converted to the base currency"


class AgingForm(FilterForm):
    as_of = forms.DateField(label=_("As of"), widget=DATE, initial=today_in)
    basis = forms.ChoiceField(label=_("Age by"), choices=AgingBasis.choices, required=False)
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    tag = forms.CharField(label=_("Tag"), max_length=50, required=False)
    min_amount = NumberField(label=_("Minimum owed"), max_digits=18, decimal_places=3, required=False,
                                    min_value=Decimal("-999999999999"))
    overdue = forms.BooleanField(label=_("Only customers with overdue invoices"), required=False)
    sort = forms.CharField(max_length=12, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, currencies=(), basis="due", **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(c, c) for c in currencies]
        if len(currencies) > 1:  # issue 17: everything converted to the base currency (listed first)
            choices.append((BASE_CHOICE, _("All, in %(base)s") % {"base": currencies[0]}))
        self.fields["currency"].choices = choices
        self.fields["currency"].initial = currencies[0] if currencies else None
        self.fields["basis"].initial = basis

    def clean_as_of(self):
        day = self.cleaned_data["as_of"]
        if abs((day - today_in()).days) > MAX_RANGE_DAYS:
            raise forms.ValidationError(_("Choose a date within ten years of today."))
        return day


class AsOfForm(FilterForm):
    as_of = forms.DateField(label=_("As of"), widget=DATE, initial=today_in)
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    q = forms.CharField(label=_("Customer"), max_length=100, required=False)

    def __init__(self, *args, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies]
        self.fields["currency"].initial = currencies[0] if currencies else None


def _month_start():
    return today_in().replace(day=1)


def _year_ago():
    return today_in() - timedelta(days=365)


class PeriodForm(FilterForm):
    start = forms.DateField(label=_("From"), widget=DATE, initial=_month_start)
    end = forms.DateField(label=_("To"), widget=DATE, initial=today_in)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The start date is after the end date."))
            if (end - start).days > MAX_RANGE_DAYS:
                raise forms.ValidationError(_("Choose a period of at most ten years."))
        return data

    def period(self) -> tuple[date, date]:
        if self.errors:
            return self.fields["start"].initial(), self.fields["end"].initial()
        return self.value("start"), self.value("end")


class StatementForm(PeriodForm):
    STYLES = [("balance_forward", _("Balance forward")), ("open_item", _("Open item"))]
    style = forms.ChoiceField(label=_("Style"), choices=STYLES, initial="balance_forward")
    start = forms.DateField(label=_("From"), widget=DATE, initial=lambda: today_in() - timedelta(days=90))


class BulkStatementForm(StatementForm):
    tag = forms.CharField(label=_("Only customers tagged"), max_length=50, required=False)
    # Not ticked by default (issue 21 point 14): e-mailing every customer is a choice, not a default.
    send = forms.BooleanField(label=_("E-mail each statement to the customer"), required=False, initial=False)


class ReportSettingsForm(forms.ModelForm):
    """Reports' own settings, and credit control's overdue threshold, which is the organization's
    (accounts.credit_terms; saved by the view through `set_overdue_days`)."""

    field_order = ["aging_limits", "aging_basis", "credit_overdue_days", "dso_formula"]

    class Meta:
        model = ReportSettings
        fields = ["aging_limits", "aging_basis", "dso_formula"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        org = self.instance.organization
        self.fields["credit_overdue_days"] = forms.IntegerField(
            label=Organization._meta.get_field("credit_overdue_days").verbose_name, initial=overdue_days(org))
        self.order_fields(self.field_order)
        self.fields["dso_formula"].required = False  # left out (older clients): keep what is set

    def clean_credit_overdue_days(self):
        try:
            return clean_overdue_days(self.cleaned_data["credit_overdue_days"])
        except CreditTermsError as e:
            raise ValidationError(str(e)) from None

    def clean_dso_formula(self):
        return self.cleaned_data.get("dso_formula") or self.instance.dso_formula or "period_end"


class ReportSubscriptionForm(forms.ModelForm):
    """Subscribe oneself to a report by e-mail (reports.subscriptions)."""

    class Meta:
        model = ReportSubscription
        fields = ["report", "frequency", "file_format"]
