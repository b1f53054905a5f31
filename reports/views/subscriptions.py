"""Settings → Report e-mails (issue 20 item 9) and the overview across a user's organizations
(issue 20 item 8)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.models import Role
from accounts.permissions import org_view
from reports.forms import ReportSubscriptionForm
from reports.models import ReportDispatch, ReportSubscription
from reports.overview import (
    converted_total,
    currency_choices,
    overview_rows,
    shared_customers,
    totals_by_currency,
    user_memberships,
)
from reports.subscriptions import SUBSCRIBER_ROLE


@org_view(SUBSCRIBER_ROLE)
def report_subscriptions(request):
    """The signed-in member's own subscriptions, a form to add one, and what was sent lately."""
    form = ReportSubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        sub = form.save(commit=False)
        sub.organization, sub.user = request.org, request.user
        try:
            with transaction.atomic():
                sub.save()
        except IntegrityError:
            messages.error(request, _("You already get this report this often in this format; nothing was added."))
        else:
            messages.success(request, _("Subscribed. The first e-mail follows the end of the current period."))
            return redirect("report_subscriptions", org_slug=request.org.slug)
    mine = ReportSubscription.objects.filter(organization=request.org, user=request.user).order_by("pk")
    sent = (ReportDispatch.objects.filter(organization=request.org, user=request.user)
            .select_related("delivery")[:12])
    return render(request, "reports/subscriptions.html", {"form": form, "subscriptions": mine, "dispatches": sent})


@require_POST
@org_view(Role.FINANCE)
def report_subscription_delete(request, pk):
    sub = get_object_or_404(ReportSubscription, organization=request.org, user=request.user, pk=pk)
    sub.delete()
    messages.success(request, _("Unsubscribed: %(what)s.") % {"what": sub.get_report_display()})
    return redirect("report_subscriptions", org_slug=request.org.slug)


@require_safe
@login_required
def organizations_overview(request):
    """?currency=XXX: every organization's figures also in XXX (one of the user's organizations' base
    currencies), converted with each organization's own rates."""
    memberships = user_memberships(request.user)
    choices = currency_choices(memberships)
    asked = request.GET.get("currency", "").strip().upper()
    into = asked if asked in choices else ""
    problem = (_("%(code)s is not a currency of your organizations; choose one of %(choices)s.")
               % {"code": asked[:10], "choices": ", ".join(choices)}) if asked and not into else ""
    rows = overview_rows(request.user, into, memberships)
    return render(request, "reports/overview.html", {
        "rows": rows, "totals": totals_by_currency(rows), "into": into, "choices": choices, "problem": problem,
        "converted_total": converted_total(rows), "shared": shared_customers(memberships, request.user, into)})
