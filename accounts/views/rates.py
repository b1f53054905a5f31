"""Exchange rates page (issue 17): the organization's rates to its base currency, entered by hand or
uploaded (ECB XML/CSV, generic CSV). accounts.fx checks and saves; a rate that jumps beyond the
configured factor is saved only when the person ticks the confirmation and sends again."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import fx
from accounts.forms import CurrencyField
from accounts.forms_fields import NumberField
from accounts.models import ExchangeRate, RateSource, Role
from accounts.permissions import org_view

MAX_UPLOAD = 20_000_000
RATES_PER_PAGE = 50


class RateForm(forms.Form):
    day = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    currency = CurrencyField()
    rate = NumberField(label=gettext_lazy("Rate (base-currency units for one unit)"), max_digits=28,
                       decimal_places=12)
    confirm = forms.BooleanField(label=gettext_lazy("I checked this rate (it may move a lot)"), required=False)


class RatesFileForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("ECB XML/CSV or CSV (date, currency, rate)"))
    confirm = forms.BooleanField(label=gettext_lazy("I checked these rates (some may move a lot)"), required=False)


@org_view(Role.FINANCE)
def exchange_rates(request):
    org = request.org
    action = request.POST.get("action") if request.method == "POST" else None
    form = RateForm(request.POST if action == "add" else None, prefix="add")
    upload = RatesFileForm(request.POST if action == "upload" else None,
                           request.FILES if action == "upload" else None, prefix="upload")
    problems, needs_confirmation, status = [], False, 200
    if action == "add" and form.is_valid():
        d = form.cleaned_data
        try:
            fx.save_rates(org, [fx.RateRow(d["day"], d["currency"], d["rate"])], RateSource.MANUAL,
                          user=request.user, confirm=d["confirm"])
            messages.success(request, _("The %(cur)s rate of %(day)s was saved.")
                             % {"cur": d["currency"], "day": d["day"].isoformat()})
            return redirect("exchange_rates", org_slug=org.slug)
        except fx.RateError as e:
            problems, needs_confirmation = e.problems, isinstance(e, fx.RateNeedsConfirmation)
    elif action == "upload" and upload.is_valid():
        f = upload.cleaned_data["file"]
        try:
            if f.size > MAX_UPLOAD:
                raise fx.RateError(_("The file is larger than 20 MB."))
            parsed = fx.parse_file(f.read(), org.base_currency)
            n = fx.save_rates(org, parsed.rows, parsed.source, user=request.user,
                              confirm=upload.cleaned_data["confirm"])
            note = (_(" Left out (withdrawn currencies): %(codes)s.") % {"codes": ", ".join(parsed.skipped)}
                    if parsed.skipped else "")
            messages.success(request, _("%(n)s rate(s) saved.") % {"n": n} + note)
            return redirect("exchange_rates", org_slug=org.slug)
        except fx.RateError as e:
            problems, needs_confirmation = e.problems, isinstance(e, fx.RateNeedsConfirmation)
    if action:
        status = 400
    rates = Paginator(ExchangeRate.objects.filter(organization=org).select_related("entered_by"), RATES_PER_PAGE) \
        .get_page(request.GET.get("page"))
    return render(request, "accounts/exchange_rates.html", {
        "form": form, "upload": upload, "rates": rates, "problems": problems,
        "needs_confirmation": needs_confirmation, "jump_factor": fx.jump_factor(),
        "max_age_days": fx.max_age_days(),
    }, status=status)
