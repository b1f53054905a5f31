"""A customer's activity log (issue 19 #6): calls and notes, e-mails sent (reminders and documents),
portal actions, promises, disputes and payment plans, newest first, a page at a time.

Each source is read newest first and only as deep as the page needs (page × size rows), then merged:
the cost grows with the page number, never with the customer's whole history."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from accounts.money import format_money
from invoicing.models_documents import DeliveryStatus, EmailDelivery
from reminders.models import OutboxStatus, PromiseToPay, ReminderMessage
from reminders.models_collections import Dispute, PortalAction
from reminders.models_plans import ContactLog, PaymentPlan

PAGE_SIZE = 20


@dataclass
class Activity:
    at: datetime
    kind: str  # call, note, email, portal, promise, dispute, plan
    text: str
    who: str = ""


def _calls(customer, depth):
    for c in ContactLog.objects.filter(customer=customer).select_related("created_by")[:depth]:
        text = (f"{c.get_outcome_display()}" if c.kind == "call" else _("Note")) + (f": {c.note}" if c.note else "")
        if c.follow_up:
            text += " · " + _("follow up on %(d)s") % {"d": c.follow_up}
        yield Activity(c.created_at, c.kind, text, getattr(c.created_by, "email", ""))


def _reminders(customer, depth):
    rows = (ReminderMessage.objects.filter(customer=customer, status=OutboxStatus.SENT)
            .select_related("invoice").order_by("-sent_at", "-pk")[:depth])
    for r in rows:
        yield Activity(r.sent_at, "email", _("Reminder e-mailed: %(s)s") % {"s": r.subject or r.invoice.number})


def _documents(customer, depth):
    rows = (EmailDelivery.objects.filter(customer=customer, status=DeliveryStatus.SENT)
            .order_by("-sent_at", "-pk")[:depth])
    for d in rows:
        yield Activity(d.sent_at or d.created_at, "email", _("E-mailed: %(s)s") % {"s": d.subject})


def _portal(customer, depth):
    for a in PortalAction.objects.filter(customer=customer)[:depth]:
        yield Activity(a.at, "portal", a.summary or a.get_kind_display(), a.ip or "")


def _promises(customer, depth):
    rows = PromiseToPay.objects.filter(invoice__customer=customer).select_related("invoice").order_by("-created_at")
    for p in rows[:depth]:
        amount = format_money(p.amount, p.invoice.currency) if p.amount is not None else ""
        yield Activity(p.created_at, "promise", _("Promise to pay %(a)s of %(n)s by %(d)s%(o)s") % {
            "a": amount, "n": p.invoice.number, "d": p.until, "o": f" ({p.outcome})" if p.outcome else ""},
            p.promised_by)


def _disputes(customer, depth):
    for d in Dispute.objects.filter(customer=customer).select_related("invoice")[:depth]:
        yield Activity(d.created_at, "dispute", _("Dispute of %(a)s on %(n)s: %(r)s (%(s)s)") % {
            "a": format_money(d.amount, d.invoice.currency), "n": d.invoice.number, "r": d.get_reason_display(),
            "s": d.get_status_display()})


def _plans(customer, depth):
    for p in PaymentPlan.objects.filter(customer=customer)[:depth]:
        yield Activity(p.created_at, "plan", _("Payment plan of %(a)s: %(s)s") % {
            "a": format_money(p.amount, p.currency), "s": p.get_status_display()})


SOURCES = (_calls, _reminders, _documents, _portal, _promises, _disputes, _plans)


def page_of(customer, page: int = 1, size: int = PAGE_SIZE) -> tuple[list[Activity], bool]:
    """The `page`-th page (from 1) of the customer's activity, newest first, and whether there is more."""
    page = max(1, page)
    depth = page * size + 1
    items = [a for source in SOURCES for a in source(customer, depth) if a.at is not None]
    items.sort(key=lambda a: a.at, reverse=True)
    start = (page - 1) * size
    return items[start:start + size], len(items) > start + size
