"""A customer's activity log (issue 19 #6): calls and notes, e-mails sent (reminders and documents),
portal actions, promises, disputes and payment plans, newest first, a page at a time.

One query whatever the page: every source is a SELECT of the same seven columns, combined with
UNION ALL, ordered by time and cut with LIMIT/OFFSET in PostgreSQL (each source reads through its
customer index); the wording is made here from the columns."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import CharField, DateTimeField, DecimalField, F, Value
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from accounts.money import format_money
from invoicing.models_documents import DeliveryStatus, EmailDelivery
from reminders.models import OutboxStatus, PromiseToPay, ReminderMessage
from reminders.models_collections import Dispute, DisputeReason, DisputeStatus, PortalAction
from reminders.models_plans import CallOutcome, ContactLog, PaymentPlan, PlanStatus

PAGE_SIZE = 20
COLUMNS = ("x_at", "x_kind", "x_a", "x_b", "x_c", "x_amount", "x_currency")


@dataclass
class Activity:
    at: datetime
    kind: str  # call, note, email, portal, promise, dispute, plan
    text: str
    who: str = ""


def _text(value: str = "") -> Value:
    return Cast(Value(value, output_field=CharField()), CharField())  # typed: UNION resolves left to right


def _row(qs, at, kind, a, b, c, amount=None, currency=None):
    exprs = {"x_at": Cast(at, DateTimeField()), "x_kind": kind if not isinstance(kind, str) else _text(kind),
             "x_a": Coalesce(Cast(a, CharField()), _text()) if a is not None else _text(),
             "x_b": Coalesce(Cast(b, CharField()), _text()) if b is not None else _text(),
             "x_c": Coalesce(Cast(c, CharField()), _text()) if c is not None else _text(),
             "x_amount": Cast(amount, DecimalField(max_digits=18, decimal_places=3)) if amount is not None else
             Cast(Value(None, output_field=DecimalField()), DecimalField(max_digits=18, decimal_places=3)),
             "x_currency": Coalesce(Cast(currency, CharField()), _text()) if currency is not None else _text()}
    return qs.order_by().annotate(**exprs).values(*COLUMNS)


def _sources(customer):
    return [
        _row(ContactLog.objects.filter(customer=customer), F("created_at"), F("kind"), F("outcome"), F("note"),
             F("follow_up"), currency=F("created_by__email")),
        _row(ReminderMessage.objects.filter(customer=customer, status=OutboxStatus.SENT), F("sent_at"), "reminder",
             F("subject"), F("to_emails"), None),
        _row(EmailDelivery.objects.filter(customer=customer, status=DeliveryStatus.SENT), F("sent_at"), "document",
             F("subject"), None, None),
        _row(PortalAction.objects.filter(customer=customer), F("at"), "portal", F("summary"), F("kind"), F("ip")),
        _row(PromiseToPay.objects.filter(invoice__customer=customer), F("created_at"), "promise",
             F("invoice__number"), F("outcome"), F("until"), F("amount"), F("invoice__currency")),
        _row(Dispute.objects.filter(customer=customer), F("created_at"), "dispute", F("invoice__number"),
             F("reason"), F("status"), F("amount"), F("invoice__currency")),
        _row(PaymentPlan.objects.filter(customer=customer), F("created_at"), "plan", F("status"), None, None,
             F("amount"), F("currency")),
    ]


def _describe(row) -> Activity:
    kind, a, b, c = row["x_kind"], row["x_a"], row["x_b"], row["x_c"]
    amount = format_money(row["x_amount"], row["x_currency"]) if row["x_amount"] is not None else ""
    if kind in ("call", "note"):
        text = (dict(CallOutcome.choices).get(a, a) if kind == "call" else _("Note")) + (f": {b}" if b else "")
        if c:
            text += " · " + _("follow up on %(d)s") % {"d": c}
        return Activity(row["x_at"], kind, text, row["x_currency"])
    if kind == "reminder":
        return Activity(row["x_at"], "email", _("Reminder e-mailed: %(s)s") % {"s": a}, b)
    if kind == "document":
        return Activity(row["x_at"], "email", _("E-mailed: %(s)s") % {"s": a})
    if kind == "portal":
        return Activity(row["x_at"], "portal", a or b, c)
    if kind == "promise":
        return Activity(row["x_at"], "promise", _("Promise to pay %(a)s of %(n)s by %(d)s%(o)s") % {
            "a": amount, "n": a, "d": c, "o": f" ({b})" if b else ""})
    if kind == "dispute":
        return Activity(row["x_at"], "dispute", _("Dispute of %(a)s on %(n)s: %(r)s (%(s)s)") % {
            "a": amount, "n": a, "r": dict(DisputeReason.choices).get(b, b),
            "s": dict(DisputeStatus.choices).get(c, c)})
    return Activity(row["x_at"], "plan", _("Payment plan of %(a)s: %(s)s") % {
        "a": amount, "s": dict(PlanStatus.choices).get(a, a)})


def page_of(customer, page: int = 1, size: int = PAGE_SIZE) -> tuple[list[Activity], bool]:
    """The `page`-th page (from 1) of the customer's activity, newest first, and whether there is more."""
    page = max(1, page)
    first, *rest = _sources(customer)
    combined = first.union(*rest, all=True).order_by("-x_at")
    start = (page - 1) * size
    rows = list(combined[start:start + size + 1])
    return [_describe(r) for r in rows[:size] if r["x_at"] is not None], len(rows) > size
