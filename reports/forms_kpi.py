"""Filter forms of the issue 20 report pages (DSO, collection KPIs, payment behaviour, series)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models_org import today_in
from reports.forms import DATE, MAX_RANGE_DAYS, FilterForm
from reports.models import DsoFormula

KIND_CHOICES = [("month", _("Month to date")), ("quarter", _("Quarter to date")), ("year", _("Year to date")),
                ("days90", _("Last 90 days"))]


class KpiForm(FilterForm):
    """As-of day (end of that day in the organization's time zone), period kind, currency."""

    as_of = forms.DateField(label=_("As of"), widget=DATE, initial=today_in)
    kind = forms.ChoiceField(label=_("Period"), choices=KIND_CHOICES, initial="quarter")
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    formula = forms.ChoiceField(label=_("Headline formula"), choices=DsoFormula.choices, required=False)

    def __init__(self, *args, currencies=(), formula=DsoFormula.PERIOD_END, all_in_base=False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(c, c) for c in currencies]
        if all_in_base and len(currencies) > 1:  # issue 17: every currency at the as-of day's rates
            choices.append(("*", _("All, in %(base)s") % {"base": currencies[0]}))
        # Assigned whole: the setter also gives the widget its options (appending reached only the field).
        self.fields["currency"].choices = choices
        self.fields["currency"].initial = currencies[0] if currencies else None
        self.fields["formula"].initial = formula

    def clean_as_of(self):
        day = self.cleaned_data["as_of"]
        if abs((day - today_in()).days) > MAX_RANGE_DAYS:
            raise forms.ValidationError(_("Choose a date within ten years of today."))
        return day


WINDOW_CHOICES = [("12m", _("Last 12 months")), ("all", _("All time")), ("range", _("Chosen range"))]


class WindowForm(FilterForm):
    window = forms.ChoiceField(label=_("Window"), choices=WINDOW_CHOICES, initial="12m")
    start = forms.DateField(label=_("From"), widget=DATE, required=False)
    end = forms.DateField(label=_("To"), widget=DATE, required=False)
    currency = forms.ChoiceField(label=_("Currency"), required=False)

    def __init__(self, *args, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies]
        self.fields["currency"].initial = currencies[0] if currencies else None


GRAIN_CHOICES = [("day", _("Day")), ("week", _("ISO week")), ("month", _("Month")), ("quarter", _("Quarter"))]
GRAIN_LIMIT = {"day": 400, "week": 1100, "month": 3700, "quarter": 3700}


def _year_ago():
    from datetime import timedelta

    return today_in() - timedelta(days=364)


class SeriesForm(FilterForm):
    grain = forms.ChoiceField(label=_("By"), choices=GRAIN_CHOICES, initial="month")
    start = forms.DateField(label=_("From"), widget=DATE, initial=_year_ago)
    end = forms.DateField(label=_("To"), widget=DATE, initial=today_in)
    currency = forms.ChoiceField(label=_("Currency"), required=False)

    def __init__(self, *args, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies]
        self.fields["currency"].initial = currencies[0] if currencies else None

    def clean(self):
        data = super().clean()
        start, end, grain = data.get("start"), data.get("end"), data.get("grain")
        if start and end and grain:
            if start > end:
                raise forms.ValidationError(_("The start date is after the end date."))
            if (end - start).days > GRAIN_LIMIT[grain]:
                raise forms.ValidationError(_("That range has too many points for this grain: choose a shorter "
                                              "range or a coarser grain (days: 400 days at most, weeks: 3 years)."))
        return data
