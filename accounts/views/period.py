"""The period lock page (accounts.period): owners close the books up to a date, reopen them with
a reason, or set the date the books start; every change is listed."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import period
from accounts.models import PeriodLockEvent, Role
from accounts.permissions import org_view

ACTIONS = ("close", "reopen", "books_start")


class PeriodForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS], widget=forms.HiddenInput)
    day = forms.DateField(label=gettext_lazy("Date"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, required=False)


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@org_view(Role.OWNER)
def period_lock(request):
    org = request.org
    form = PeriodForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            action, day, reason = (form.cleaned_data[k] for k in ("action", "day", "reason"))
            try:
                if action == "close":
                    if day is None:
                        raise period.PeriodError(_("Give the last day of the period to close."))
                    period.close_period(org, day, actor=request.user, reason=reason, ip=client_ip(request))
                    messages.success(request, _("The books are closed up to %(day)s.") % {"day": day.isoformat()})
                elif action == "reopen":
                    period.reopen_period(org, day, actor=request.user, reason=reason, ip=client_ip(request))
                    messages.success(request, _("The period was reopened; the other owners are told by e-mail."))
                else:
                    period.set_books_start(org, day, actor=request.user, reason=reason, ip=client_ip(request))
                    messages.success(request, _("The books-start date was saved."))
                return redirect("period_lock", org_slug=org.slug)
            except period.PeriodError as e:
                form.add_error(None, e.message)
        status = 400
    else:
        status = 200
    lock_date, books_start = period.state(org)
    events = PeriodLockEvent.objects.filter(organization=org).select_related("actor")[:100]
    return render(request, "accounts/period_lock.html", {
        "form": form, "lock_date": lock_date, "books_start": books_start, "events": events,
    }, status=status)
