"""Forms of the import pages: the upload, and the column mapping built from the importer's fields."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.imports import kinds, options_for
from accounts.imports.parsing import DATE_FORMATS, ENCODINGS

ENCODING_CHOICES = [("", _("Detect")), *ENCODINGS.items()]
DELIMITER_CHOICES = [("", _("Detect")), (",", _("Comma ,")), (";", _("Semicolon ;")), ("\t", _("Tab")),
                     ("|", _("Bar |"))]
NOT_MAPPED = ""


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=())
    file = forms.FileField(label=_("CSV or XLSX file"))
    encoding = forms.ChoiceField(label=_("Text encoding (CSV)"), choices=ENCODING_CHOICES, required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter (CSV)"), choices=DELIMITER_CHOICES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds()


class MappingForm(forms.Form):
    save_as = forms.CharField(label=_("Save this mapping as"), max_length=100, required=False,
                              help_text=_("Optional: offered again for the next file of this kind."))
    books_start = forms.DateField(
        label=_("Move the books start earlier to"), required=False, input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional, owners only: history older than the books start (or ten years) is imported "
                    "from this day on. The import moves the books start when it commits; the other owners "
                    "are told."))

    def __init__(self, *args, importer, headers, initial_mapping, initial_options, **kwargs):
        super().__init__(*args, **kwargs)
        self.importer = importer
        columns = [(NOT_MAPPED, "— " + str(_("not in the file")) + " —"), *[(h, h) for h in headers]]
        dates = [("", _("Detect from the column")), *DATE_FORMATS.items()]
        decimals = [("", _("Detect from the column")), (".", _("1,234.50 (point)")), (",", _("1.234,50 (comma)"))]
        chosen_dates, chosen_decimals = initial_options.get("dates", {}), initial_options.get("decimal", {})
        for f in importer.fields:
            column = initial_mapping.get(f.name, NOT_MAPPED)
            self.fields[f"map_{f.name}"] = forms.ChoiceField(
                label=f.label, choices=columns, required=f.required, initial=column, help_text=f.help)
            if f.type == "date":
                self.fields[f"fmt_{f.name}"] = forms.ChoiceField(
                    label=_("%(field)s: date format") % {"field": f.label}, choices=dates, required=False,
                    initial=chosen_dates.get(column, ""))
            elif f.type == "number":
                self.fields[f"fmt_{f.name}"] = forms.ChoiceField(
                    label=_("%(field)s: decimal separator") % {"field": f.label}, choices=decimals,
                    required=False, initial=chosen_decimals.get(column, ""))
        self.fields["books_start"].initial = initial_options.get("books_start")
        # Options other apps offer on this kind (accounts.imports.OPTIONS), e.g. reminders' hold.
        for option in options_for(importer.kind):
            self.fields[f"opt_{option.name}"] = forms.DateField(
                label=option.label, required=False, input_formats=["%Y-%m-%d"], help_text=option.help,
                widget=forms.DateInput(attrs={"type": "date"}), initial=initial_options.get(option.name))
        self.order_fields([name for name in self.fields if name not in ("save_as", "books_start")]
                          + ["books_start", "save_as"])

    def mapping(self) -> dict:
        return {f.name: self.cleaned_data[f"map_{f.name}"] for f in self.importer.fields
                if self.cleaned_data.get(f"map_{f.name}")}

    def options(self) -> dict:
        mapping, dates, decimal = self.mapping(), {}, {}
        for f in self.importer.fields:
            chosen = self.cleaned_data.get(f"fmt_{f.name}")
            if chosen and f.name in mapping:
                (dates if f.type == "date" else decimal)[mapping[f.name]] = chosen
        options = {"dates": dates, "decimal": decimal}
        if self.cleaned_data.get("books_start"):
            options["books_start"] = self.cleaned_data["books_start"].isoformat()
        for option in options_for(self.importer.kind):
            if self.cleaned_data.get(f"opt_{option.name}"):
                options[option.name] = self.cleaned_data[f"opt_{option.name}"].isoformat()
        return options
