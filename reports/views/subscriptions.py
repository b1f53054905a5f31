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
from reports.overview import overview_rows, totals_by_currency
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
    rows = overview_rows(request.user)
    return render(request, "reports/overview.html", {"rows": rows, "totals": totals_by_currency(rows)})
