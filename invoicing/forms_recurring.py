"""The recurring schedule form: who, how often, from when to when, what each run does. Lines use
the invoice editor's line formset (invoicing.forms.LineFormSet)."""


from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.customer_picker import customer_field
from accounts.ledger import in_window
from invoicing.forms import DATE_WIDGET, CustomerSelect
from invoicing.models_recurring import LAST_DAY, RecurringSchedule

DAY_CHOICES = [(d, str(d)) for d in range(1, 32)] + [(LAST_DAY, _("Last day of the month"))]
SCHEDULE_FIELDS = ("customer", "name", "frequency", "interval", "day_of_month", "start_date", "end_date", "max_count",
                   "action", "payment_terms_days", "reference", "notes")


class ScheduleForm(forms.ModelForm):
    day_of_month = forms.TypedChoiceField(
        label=_("Day of the month"), choices=DAY_CHOICES, coerce=int, initial=1,
        help_text=_("Monthly, quarterly and yearly schedules. A day a month does not have (31 April) bills on "
                    "that month's last day. Weekly schedules bill on the start date's weekday."))

    interval = forms.IntegerField(label=_("Every"), min_value=1, max_value=24, initial=1,
                                  help_text=_("1 = every period; 2 = every other one; …"))
    max_count = forms.IntegerField(label=_("Stop after this many invoices"), min_value=1, max_value=10000,
                                   required=False, help_text=_("Optional."))
    payment_terms_days = forms.IntegerField(label=_("Payment terms (days)"), min_value=0, max_value=3650,
                                            initial=30)

    class Meta:
        model = RecurringSchedule
        fields = list(SCHEDULE_FIELDS)
        widgets = {"start_date": DATE_WIDGET, "end_date": DATE_WIDGET, "notes": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "reference": _("Placeholders: {period_start} {period_end} {month} {year}."),
            "end_date": _("Optional."),
        }

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["customer"] = customer_field(org, label=_("Customer"), select_widget=CustomerSelect)
        for name in ("start_date", "end_date"):
            self.fields[name].input_formats = ["%Y-%m-%d"]

    def clean_start_date(self):
        start = self.cleaned_data["start_date"]
        if not in_window(start, self.org.today()):
            raise ValidationError(_("Start within the last ten years and at most a year ahead."))
        return start

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end date is before the start date."))
        return data

    def _post_clean(self):
        pass  # the service checks the rest under its lock

    def schedule_fields(self) -> dict:
        return {k: self.cleaned_data[k] for k in SCHEDULE_FIELDS}
