"""Holds: while one is active no reminder goes out for the invoice; when it ends the schedule resumes.

* the invoice is disputed (invoicing: disputed_at set and dispute_until not yet passed);
* a promise to pay until a date (PromiseToPay, with who promised and a note);
* the customer is marked "do not remind" (CustomerReminderSettings);
* the organization has paused reminders (ReminderSettings.paused);
* the invoice is in an active payment plan (reminders.plans: its instalments are reminded instead);
* reminders are held until a day (ReminderHold, `hold_reminders`; the invoices and opening-balances
  imports place them on invoices that were already overdue when imported, when asked).

The scan checks the same conditions in SQL (reminders/scheduler.py; the plan's fragment is
`on_plan_sql` here); the sender checks them again
just before sending (a hold placed after the scan still stops the message). When a hold ends,
the next scan applies the catch-up rule: the latest point that became due meanwhile is sent once,
the ones in between are recorded as skipped.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from invoicing.models import Invoice, InvoiceKind, InvoiceStatus
from invoicing.services import record_event
from reminders.models import CustomerReminderSettings, PromiseToPay, ReminderHold, ReminderSettings


class HoldError(ValueError):
    pass


def on_plan_sql(alias: str) -> str:
    """SQL: the invoice `alias` is covered by an active payment plan (the scan's hold)."""
    return (f"EXISTS (SELECT 1 FROM reminders_paymentplaninvoice ppi JOIN reminders_paymentplan ppl "  # noqa: S608
            f"ON ppl.id = ppi.plan_id AND ppl.organization_id = ppi.organization_id "
            f"WHERE ppi.invoice_id = {alias}.id AND ppi.organization_id = {alias}.organization_id "
            f"AND ppl.status = 'active')")  # an alias from code, never input


def held_sql(alias: str, today: str) -> str:
    """SQL: reminders of the invoice `alias` are held (ReminderHold) on the day `today` (SQL)."""
    return (f"EXISTS (SELECT 1 FROM reminders_reminderhold rh WHERE rh.invoice_id = {alias}.id "  # noqa: S608
            f"AND rh.organization_id = {alias}.organization_id AND rh.released_at IS NULL "
            f"AND rh.until >= {today}::date)")  # an alias and a placeholder from code, never input


def held_until(invoice: Invoice, today: date) -> date | None:
    """The last day of the invoice's longest active reminder hold, or None."""
    hold = (ReminderHold.objects.filter(invoice=invoice, released_at__isnull=True, until__gte=today)
            .order_by("-until").first())
    return hold.until if hold else None


def hold_reminders(invoices, until: date, reason: str, actor=None) -> int:
    """Hold the reminders of these open invoices until `until` (inclusive), each with one row and a
    timeline event; an invoice already held at least as long is left alone. The number held."""
    invoices = [i for i in invoices if i.kind == InvoiceKind.INVOICE and not_open_reason(i) is None]
    longer = set(ReminderHold.objects.filter(invoice__in=invoices, released_at__isnull=True, until__gte=until)
                 .values_list("invoice_id", flat=True))
    invoices = [i for i in invoices if i.pk not in longer]
    ReminderHold.objects.bulk_create([ReminderHold(organization_id=i.organization_id, invoice=i, until=until,
                                                   reason=reason, created_by=actor) for i in invoices])
    for invoice in invoices:
        record_event(invoice, "hold", _("Reminders held until %(date)s: %(reason)s") % {"date": until,
                                                                                           "reason": reason},
                     actor=actor)
    return len(invoices)


def on_plan(invoice: Invoice) -> bool:
    from reminders.models_plans import PaymentPlan, PlanStatus

    return PaymentPlan.objects.filter(covered__invoice_id=invoice.pk, status=PlanStatus.ACTIVE).exists()


def promises_as_of(org, day: date, invoice_ids) -> dict[int, date]:
    """{invoice id: the date promised} of the promises that held the given invoices at the end of
    `day` in the organization's time zone: made by then, not cancelled by then, and running until
    that day or later (the hold `active_holds` applies today). With several, the latest date."""
    from datetime import datetime, time, timedelta

    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=org.zone)
    found: dict[int, date] = {}
    rows = (PromiseToPay.objects.filter(organization=org, invoice_id__in=list(invoice_ids), created_at__lt=end,
                                        until__gte=day)
            .exclude(cancelled_at__lt=end).values_list("invoice_id", "until"))
    for invoice_id, until in rows:
        found[invoice_id] = max(until, found.get(invoice_id, until))
    return found


def active_holds(invoice: Invoice, today: date, settings: ReminderSettings | None = None) -> list[str]:
    """Why nothing may be sent for the invoice today, in words (empty: nothing holds it)."""
    reasons = []
    settings = settings or ReminderSettings.objects.filter(organization_id=invoice.organization_id).first()
    if settings is not None and settings.paused:
        reasons.append(_("reminders are paused for the organization"))
    if invoice.is_disputed_on(today):
        reasons.append(_("the invoice is disputed"))
    promise = (PromiseToPay.objects.filter(invoice=invoice, cancelled_at__isnull=True, until__gte=today)
               .order_by("-until").first())
    if promise is not None:
        reasons.append(_("%(who)s promised to pay by %(date)s") % {"who": promise.promised_by, "date": promise.until})
    if on_plan(invoice):
        reasons.append(_("the invoice is in an active payment plan (its instalments are reminded instead)"))
    if (until := held_until(invoice, today)) is not None:
        reasons.append(_("reminders are held until %(date)s") % {"date": until})
    if CustomerReminderSettings.objects.filter(customer_id=invoice.customer_id, do_not_remind=True).exists():
        reasons.append(_("the customer is marked “do not remind”"))
    return reasons


def not_open_reason(invoice: Invoice) -> str | None:
    if invoice.status != InvoiceStatus.ISSUED:
        return _("the invoice is %(status)s") % {"status": invoice.get_status_display().lower()}
    if invoice.amount_due <= 0:
        return _("the invoice is paid")
    return None


@transaction.atomic
def promise_to_pay(invoice: Invoice, until: date, promised_by: str, note: str = "", actor=None,
                   today: date | None = None, amount: Decimal | None = None, source: str = "staff",
                   ip: str | None = None) -> PromiseToPay:
    today = today or invoice.today
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.kind != InvoiceKind.INVOICE or not_open_reason(invoice):
        raise HoldError(_("Only an open invoice can have a promise to pay."))
    if until < today:
        raise HoldError(_("The promised date must be today or later."))
    if (until - today).days > 366:
        raise HoldError(_("A promise more than a year ahead is refused; use “do not remind” instead."))
    if not promised_by.strip():
        raise HoldError(_("Say who made the promise."))
    if amount is not None and amount <= 0:
        raise HoldError(_("The promised amount must be more than zero."))
    if amount is not None and amount > invoice.amount_due:
        raise HoldError(_("The promised amount is more than the %(due)s still due.") % {"due": invoice.amount_due})
    amount = amount if amount is not None else invoice.amount_due  # kept or broken is judged against it
    promise = PromiseToPay.objects.create(organization_id=invoice.organization_id, invoice=invoice, until=until,
                                          promised_by=promised_by.strip()[:150], note=note.strip()[:500],
                                          created_by=actor, amount=amount, source=source, ip=ip)
    record_event(invoice, "promise", _("Promise to pay %(amount)sby %(date)s from %(who)s%(note)s")
                 % {"date": until, "who": promise.promised_by, "note": f": {promise.note}" if promise.note else "",
                    "amount": f"{amount} " if amount is not None else ""},
                 actor)
    return promise


@transaction.atomic
def cancel_promise(promise: PromiseToPay, actor=None) -> PromiseToPay:
    promise = PromiseToPay.objects.select_for_update().get(pk=promise.pk)
    if promise.cancelled_at is None:
        promise.cancelled_at = timezone.now()
        promise.save(update_fields=["cancelled_at"])
        record_event(promise.invoice, "promise", _("Promise to pay by %(date)s withdrawn") % {"date": promise.until},
                     actor)
    return promise
