"""The collector's worklist (issue 19 #6): one page of what needs a person today, and the bell's
notifications. Each section is one query, whatever the data size (bench/worklist times it)."""

from datetime import timedelta

from django.contrib import messages
from django.db.models import Max, Q, Sum
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import org_view
from invoicing.models import Invoice, open_q
from reminders import digests
from reminders.models import OutboxStatus, PromiseToPay, ReminderMessage
from reminders.models_collections import Dispute, DisputeStatus, Notification, NotificationDigest, PortalAction
from reminders.models_plans import ContactLog, PaymentPlan, PlanStatus
from reminders.views.plans import call_form_context
from reminders.views.reminders import _tabs

NO_CONTACT_DAYS = 14
LIMIT = 25


def worklist_data(org, user, today) -> dict:
    since = today - timedelta(days=30)
    broken = (PromiseToPay.objects.filter(open_q("invoice__"), organization=org, outcome="broken",
                                          decided_at__date__gte=since)
              .select_related("invoice__customer").order_by("-decided_at")[:LIMIT])
    waiting_on_us = (Dispute.objects.filter(organization=org, status=DisputeStatus.OPEN)
                     .filter(Q(assignee=user) | Q(assignee__isnull=True))
                     .select_related("invoice", "customer", "assignee").order_by("created_at")[:LIMIT])
    promises_due = (PromiseToPay.objects.filter(open_q("invoice__"), organization=org, cancelled_at__isnull=True,
                                                outcome="", until__gte=today, until__lte=today + timedelta(days=7))
                    .select_related("invoice__customer").order_by("until")[:LIMIT])
    contacted = (ReminderMessage.objects.filter(organization=org, status=OutboxStatus.SENT,
                                                sent_at__date__gte=today - timedelta(days=NO_CONTACT_DAYS))
                 .values("customer_id"))
    spoke = (PortalAction.objects.filter(organization=org, at__date__gte=today - timedelta(days=NO_CONTACT_DAYS))
             .values("customer_id"))
    called = (ContactLog.objects.filter(organization=org, created_at__date__gte=today - timedelta(days=NO_CONTACT_DAYS))
              .values("customer_id"))
    quiet = (Invoice.objects.overdue(today).filter(organization=org).exclude(customer_id__in=contacted)
             .exclude(customer_id__in=spoke).exclude(customer_id__in=called)
             .values("customer_id", "customer__name", "currency")
             .annotate(overdue=Sum("amount_due"), oldest=Max("due_date")).order_by("-overdue")[:LIMIT])
    bounced = (ReminderMessage.objects.filter(organization=org, status=OutboxStatus.FAILED,
                                              created_at__date__gte=since)
               .select_related("invoice", "customer").order_by("-created_at")[:LIMIT])
    notes = Notification.objects.filter(organization=org, user=user, read_at__isnull=True)[:LIMIT]
    plans_broken = (PaymentPlan.objects.filter(organization=org, status=PlanStatus.BROKEN, ended_at__date__gte=since)
                    .select_related("customer").order_by("-ended_at")[:LIMIT])
    plans_accepted = (PaymentPlan.objects.filter(organization=org, status=PlanStatus.ACTIVE,
                                                 accepted_at__date__gte=today - timedelta(days=7))
                      .select_related("customer").order_by("-accepted_at")[:LIMIT])
    follow_ups = (ContactLog.objects.filter(organization=org, follow_up__isnull=False, follow_up__lte=today,
                                            follow_up__gte=since)
                  .select_related("customer").order_by("follow_up", "pk")[:LIMIT])
    return {"plans_broken": list(plans_broken), "plans_accepted": list(plans_accepted),
            "follow_ups": list(follow_ups),
            "broken": list(broken), "waiting_on_us": list(waiting_on_us), "promises_due": list(promises_due),
            "quiet": list(quiet), "bounced": list(bounced), "notifications": list(notes),
            "no_contact_days": NO_CONTACT_DAYS}


@org_view(Role.FINANCE)
def worklist(request):
    today = request.org.today()
    return render(request, "reminders/worklist.html", {
        "tabs": _tabs(request, "worklist"), "today": today, **worklist_data(request.org, request.user, today),
        **call_form_context(None), "digest_on": digests.subscribed(request.org, request.user),
        "last_digest": NotificationDigest.objects.filter(organization=request.org, user=request.user,
                                                         email__status=OutboxStatus.SENT).first()})


@require_POST
@org_view(Role.FINANCE)
def notifications_read(request):
    Notification.objects.filter(organization=request.org, user=request.user, read_at__isnull=True).update(
        read_at=timezone.now())
    return redirect("worklist", org_slug=request.org.slug)


@require_POST
@org_view(Role.FINANCE)
def notification_digest(request):
    """Turn the daily e-mail of one's unread notifications on or off (reminders.digests)."""
    on = request.POST.get("on") == "1"
    digests.set_subscribed(request.org, request.user, on)
    messages.success(request, _("You will get a daily e-mail of your unread notifications.") if on
                     else _("The daily e-mail is off; notifications show on this page only."))
    return redirect("worklist", org_slug=request.org.slug)
