"""Promises to pay, checked (issue 19 #3): kept when the payments applied to the invoice from the
day of the promise to the promised date plus the organization's grace cover the promised amount;
broken otherwise. Decided once the grace has passed, from the allocations as they stand (so a
payment un-applied later, e.g. bounced, makes a kept promise broken on the next check).

`outcome()` is the rule, a pure function (tests/reminders/test_promises.py checks it against
random payment timings); `check_promises()` applies it, records the outcome, and on a newly
broken promise puts it on the invoice's timeline and notifies the staff: the promise's hold has
ended by then, so chasing resumes by itself.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from invoicing.hooks import ALLOCATIONS
from invoicing.models import Invoice
from invoicing.services import record_event
from reminders import notifications
from reminders.models import PromiseToPay, ReminderSettings

ZERO = Decimal(0)
KEPT, BROKEN = "kept", "broken"


@dataclass(frozen=True)
class Applied:
    """One payment allocation to the invoice: its day, amount, and for an un-application (negative),
    the day of the allocation it undoes."""
    day: date
    amount: Decimal
    undoes_day: date | None = None


def paid_towards(start: date, deadline: date, applied: list[Applied]) -> Decimal:
    """Money applied between the promise and the deadline that is still applied: an un-application
    counts against the allocation it undoes, whenever it happened."""
    total = ZERO
    for a in applied:
        day = a.undoes_day if a.amount < 0 and a.undoes_day is not None else a.day
        if start <= day <= deadline:
            total += a.amount
    return total


def outcome(amount: Decimal, start: date, until: date, grace_days: int, applied: list[Applied],
            today: date) -> str:
    """"" while the promise's time (with grace) runs; then kept or broken."""
    deadline = until + timedelta(days=grace_days)
    if today <= deadline:
        return ""
    return KEPT if paid_towards(start, deadline, applied) >= amount else BROKEN


def applied_to(invoice: Invoice) -> list[Applied]:
    rows = ALLOCATIONS.of_invoice(invoice) if ALLOCATIONS.of_invoice else []
    by_id = {r.pk: r for r in rows}
    out = []
    for r in rows:
        if r.payment_id is None:
            continue  # a credit note is not the customer paying
        undone = by_id.get(r.reverses_id) if r.reverses_id else None
        out.append(Applied(r.effective_date, r.amount, undone.effective_date if undone else None))
    return out


def check_promises(org, today: date | None = None, horizon_days: int = 60) -> dict[str, int]:
    """Decide (or re-decide) promises whose grace ended within `horizon_days`; notify newly broken ones."""
    today = today or org.today()
    settings = ReminderSettings.objects.filter(organization=org).first()
    grace = settings.promise_grace_days if settings else 3
    counts = {KEPT: 0, BROKEN: 0}
    due = (PromiseToPay.objects.filter(organization=org, cancelled_at__isnull=True,
                                       until__lt=today - timedelta(days=grace),
                                       until__gte=today - timedelta(days=grace + horizon_days))
           .select_related("invoice__customer"))
    for promise in due:
        invoice = promise.invoice
        applied = applied_to(invoice)
        start = timezone.localtime(promise.created_at, org.zone).date()
        # A promise without an amount (before amounts existed) is of what was due when it was made.
        required = promise.amount if promise.amount is not None else invoice.amount_due + paid_towards(
            start, promise.until + timedelta(days=grace), applied)
        result = outcome(required, start, promise.until, grace, applied, today)
        if result and result != promise.outcome:
            _decide(promise, result, today)
            counts[result] += 1
    return counts


@transaction.atomic
def _decide(promise: PromiseToPay, result: str, today: date) -> None:
    was = PromiseToPay.objects.select_for_update().get(pk=promise.pk).outcome
    if was == result:
        return
    PromiseToPay.objects.filter(pk=promise.pk).update(outcome=result, decided_at=timezone.now())
    invoice = promise.invoice
    if result == BROKEN:
        record_event(invoice, "promise", _("Promise to pay by %(date)s broken: reminders resume")
                     % {"date": promise.until})
        notifications.notify_staff(
            invoice.organization_id, "promise_broken",
            _("%(customer)s did not keep the promise to pay %(number)s by %(date)s")
            % {"customer": invoice.customer.name, "number": invoice.number, "date": promise.until},
            url=reverse("invoice_detail", kwargs={"org_slug": invoice.organization.slug, "pk": invoice.pk}),
            key=f"promise-broken:{promise.pk}:{today}")
    else:
        record_event(invoice, "promise", _("Promise to pay by %(date)s kept") % {"date": promise.until})
