"""The quote form's header; lines use the invoice editor's line formset."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.customer_picker import customer_field
from accounts.ledger import in_window
from invoicing.forms import DATE_WIDGET, CustomerSelect
from invoicing.models_quotes import Quote

QUOTE_FIELDS = ("customer", "issue_date", "valid_until", "reference", "notes")


class QuoteForm(forms.ModelForm):
    class Meta:
        model = Quote
        fields = list(QUOTE_FIELDS)
        widgets = {"issue_date": DATE_WIDGET, "valid_until": DATE_WIDGET, "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["customer"] = customer_field(org, label=_("Customer"), select_widget=CustomerSelect)
        for name in ("issue_date", "valid_until"):
            self.fields[name].input_formats = ["%Y-%m-%d"]

    def clean_issue_date(self):
        day = self.cleaned_data["issue_date"]
        if not in_window(day, self.org.today()):
            raise ValidationError(_("Use a date within the last ten years and at most a year ahead."))
        return day

    def clean(self):
        data = super().clean()
        if data.get("issue_date") and data.get("valid_until") and data["valid_until"] < data["issue_date"]:
            self.add_error("valid_until", _("“Valid until” is before the quote's date."))
        return data

    def _post_clean(self):
        pass

    def quote_fields(self) -> dict:
        return {k: self.cleaned_data[k] for k in QUOTE_FIELDS}
