"""The journal export page: pick a period and a format, see what it covers, download."""

from datetime import date

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from accounts.models import Role
from accounts.permissions import org_view
from reports import journal_export

FORMAT_CHOICES = [("csv", _("CSV (documented layout)")), ("xlsx", _("Excel (XLSX)")),
                  ("xero", _("Xero manual journal CSV"))]
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class JournalExportForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DATE_WIDGET)
    end = forms.DateField(label=_("To"), widget=DATE_WIDGET)
    format = forms.ChoiceField(label=_("Format"), choices=FORMAT_CHOICES, initial="csv")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            try:
                journal_export.check_period(data["start"], data["end"])
            except journal_export.ExportError as e:
                raise forms.ValidationError(str(e)) from e
        return data


def _last_month() -> tuple[date, date]:
    first_of_this = timezone.localdate().replace(day=1)
    end = first_of_this - timezone.timedelta(days=1)
    return end.replace(day=1), end


@require_safe
@org_view(Role.VIEWER)
def journal_export_page(request):
    start, end = _last_month()
    form = JournalExportForm(request.GET or None, initial={"start": start, "end": end, "format": "csv"})
    export = error = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        export = journal_export.journal_export(request.org, data["start"], data["end"])
        if request.GET.get("download") == "1":
            try:
                content, content_type, filename = journal_export.render(export, data["format"])
            except journal_export.ExportError as e:
                error = str(e)
            else:
                response = HttpResponse(content, content_type=content_type)
                response["Content-Disposition"] = f'attachment; filename="{filename}"'
                response["X-Ledger-Chain-Head"] = export.head_text
                return response
    return render(request, "reports/journal_export.html", {"form": form, "export": export, "error": error})
