"""The journal export page: pick a period and a format, see what it covers, download."""

from datetime import date, timedelta

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from accounts.models import Role
from accounts.permissions import org_view
from reports import auditor_pack, journal_export

FORMAT_CHOICES = [("csv", _("CSV (documented layout)")), ("xlsx", _("Excel (XLSX)")),
                  ("xero", _("Xero manual journal CSV")), ("fec", _("FEC (France, LPF art. A47 A-1)"))]
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DATE_WIDGET)
    end = forms.DateField(label=_("To"), widget=DATE_WIDGET)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            try:
                journal_export.check_period(data["start"], data["end"])
            except journal_export.ExportError as e:
                raise forms.ValidationError(str(e)) from e
        return data


class JournalExportForm(PeriodForm):
    format = forms.ChoiceField(label=_("Format"), choices=FORMAT_CHOICES, initial="csv")


def _last_month(org) -> tuple[date, date]:
    first_of_this = org.today().replace(day=1)  # the organization's calendar (accounts.models_org.today_in)
    end = first_of_this - timedelta(days=1)
    return end.replace(day=1), end


@require_safe
@org_view(Role.VIEWER)
def journal_export_page(request):
    start, end = _last_month(request.org)
    form = JournalExportForm(request.GET or None, initial={"start": start, "end": end, "format": "csv"})
    export = error = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        export = journal_export.journal_export(request.org, data["start"], data["end"])
        if request.GET.get("download") == "1":
            try:
                content, content_type, filename = journal_export.render(export, data["format"], request.org)
            except journal_export.ExportError as e:
                error = str(e)
            else:
                response = HttpResponse(content, content_type=content_type)
                response["Content-Disposition"] = f'attachment; filename="{filename}"'
                response["X-Ledger-Chain-Head"] = export.head_text
                return response
    return render(request, "reports/journal_export.html", {"form": form, "export": export, "error": error})


@require_safe
@org_view(Role.FINANCE)
def auditor_pack_page(request):
    """One ZIP for an auditor (reports.auditor_pack). Built on request: it verifies the whole
    ledger and gathers every PDF of the period, so it is for finance staff and owners."""
    start, end = _last_month(request.org)
    form = PeriodForm(request.GET or None, initial={"start": start, "end": end})
    if form.is_bound and form.is_valid() and request.GET.get("download") == "1":
        pack = auditor_pack.build(request.org, form.cleaned_data["start"], form.cleaned_data["end"])
        response = HttpResponse(pack.content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{pack.filename}"'
        response["X-Ledger-Verified"] = "ok" if pack.verified else "failed"
        return response
    return render(request, "reports/auditor_pack.html", {"form": form})
