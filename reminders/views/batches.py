"""The consolidated reminder e-mails (issue 19 #4, "one message per customer a day"): one page listing
them per day, with the invoices each one listed, its status, sent time and Message-ID. Each invoice
links to its own reminder history (the sent log filtered to it) and to the invoice's timeline."""

from datetime import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, TextField
from django.db.models.functions import Cast
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import org_view
from reminders.models import OutboxStatus, ReminderBatch, ReminderMessage
from reminders.views.reminders import _tabs

PER_PAGE = 50


def _day(value: str):
    return datetime.strptime(value, "%Y-%m-%d").date() if value else None


def batches_for(org, *, status="", q="", day_from=None, day_to=None):
    """The organization's consolidated e-mails, newest day first, with their per-invoice rows."""
    lines = ReminderMessage.objects.select_related("invoice").order_by("invoice__number", "pk")
    rows = (ReminderBatch.objects.filter(organization=org).select_related("customer")
            .prefetch_related(Prefetch("messages", queryset=lines)).order_by("-day", "customer__name", "pk"))
    if status in OutboxStatus.values:
        rows = rows.filter(email__status=status)
    if q:
        listed = ReminderMessage.objects.filter(organization=org, invoice__number__icontains=q).values("batch_id")
        rows = rows.annotate(to_emails_text=Cast("email__recipients", TextField())).filter(
            Q(customer__name__icontains=q) | Q(to_emails_text__icontains=q) | Q(email__message_id__icontains=q)
            | Q(pk__in=listed))
    if day_from:
        rows = rows.filter(day__gte=day_from)
    if day_to:
        rows = rows.filter(day__lte=day_to)
    return rows


@org_view(Role.VIEWER)
def reminder_batches(request):
    status, q = request.GET.get("status", ""), request.GET.get("q", "").strip()[:100]
    date_from, date_to = request.GET.get("from", ""), request.GET.get("to", "")
    try:
        day_from, day_to = _day(date_from), _day(date_to)
    except ValueError:
        messages.error(request, _("Dates are written YYYY-MM-DD."))
        day_from = day_to = None
    rows = batches_for(request.org, status=status, q=q, day_from=day_from, day_to=day_to)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "reminders/batches.html", {
        "tabs": _tabs(request, "reminder_batches"), "page": page, "status": status, "q": q,
        "date_from": date_from, "date_to": date_to, "statuses": OutboxStatus.choices,
    })
