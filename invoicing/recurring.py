"""Recurring invoices: when a schedule bills, and the run that bills what is due.

Dates. A weekly schedule bills every `interval` weeks from its start date. A monthly, quarterly
or yearly one bills every `interval` × 1, 3 or 12 months on `day_of_month` (0 = the last day; a
day the month does not have, such as the 31st in April, bills on the month's last day). The
first invoice is the first such date on or after the start date; the last is on or before the
end date, or the `max_count`-th. Each date is computed from the first one (never from the
previous date), so a 31st that became the 30th in April is the 31st again in May, and no period
is ever skipped or repeated (tests/invoicing/test_recurring_dates.py checks it over all inputs).

Runs. `run_due` (the django-q2 schedule, hourly) bills, per organization in its tenant context,
every date on or before the organization's today that has no run yet. A missed day (worker
down) is caught up on the next run: every missed period gets its own invoice dated on its own
period date, flagged `caught_up` on the schedule's page. Each schedule is billed under its row
lock (two workers at once: the second waits, then finds the runs made), and a run row is unique
per (schedule, period date): each period is billed exactly once. A period that cannot be billed
(customer archived, the date inside a locked period) gets a "skipped" run that says why; an
issue refused by credit control leaves the draft for review and says so.
"""

import calendar
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

from accounts.ledger import LedgerError
from accounts.models import Organization
from accounts.org_directory import load, organization_ids
from invoicing.forms import preview_totals
from invoicing.mail import fill
from invoicing.models import InvoiceSettings
from invoicing.models_recurring import (
    LAST_DAY,
    Frequency,
    RecurringLine,
    RecurringRun,
    RecurringSchedule,
    RunAction,
    RunStatus,
)
from ledger_site.tenancy import tenant_context

log = logging.getLogger(__name__)
MONTHS = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.YEARLY: 12}
PLACEHOLDERS = ("period_start", "period_end", "month", "year")
MAX_CATCH_UP = 400  # periods billed in one run per schedule (a weekly schedule left for years)

class RecurringError(LedgerError):
    """A refused schedule change; nothing was changed."""


# --- dates --------------------------------------------------------------------------------

def _month_day(month_index: int, day_of_month: int) -> date:
    year, month0 = divmod(month_index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, last if day_of_month == LAST_DAY else min(day_of_month, last))


def occurrence(frequency: str, interval: int, start: date, day_of_month: int, k: int) -> date:
    """The k-th billing date (k = 0 is the first)."""
    if frequency == Frequency.WEEKLY:
        return start + timedelta(weeks=interval * k)
    step = MONTHS[frequency] * interval
    first = start.year * 12 + start.month - 1
    if _month_day(first, day_of_month) < start:
        first += step
    return _month_day(first + k * step, day_of_month)


def schedule_dates(schedule, until: date | None = None, *, start_k: int = 0, limit: int | None = None):
    """(k, date, period end) of the schedule's billing dates from the k-th on, up to `until`, its
    end date and its max_count. The period runs to the day before the next date."""
    k, produced = start_k, 0
    while True:
        if schedule.max_count is not None and k >= schedule.max_count:
            return
        when = occurrence(schedule.frequency, schedule.interval, schedule.start_date, schedule.day_of_month, k)
        if (until is not None and when > until) or (schedule.end_date is not None and when > schedule.end_date):
            return
        if when.year > 9998:
            return
        following = occurrence(schedule.frequency, schedule.interval, schedule.start_date,
                               schedule.day_of_month, k + 1)
        yield k, when, following - timedelta(days=1)
        k, produced = k + 1, produced + 1
        if limit is not None and produced >= limit:
            return


def day_note(schedule) -> str:
    """What the page says about the billing day."""
    if schedule.frequency == Frequency.WEEKLY:
        return _("Every %(n)s week(s) on %(weekday)s.") % {"n": schedule.interval,
                                                            "weekday": dateformat.format(schedule.start_date, "l")}
    if schedule.day_of_month == LAST_DAY:
        return _("On the last day of the month.")
    if schedule.day_of_month > 28:
        return _("On day %(d)s; in a month without that day, on its last day (30 April, 28 or 29 February).") % {
            "d": schedule.day_of_month}
    return _("On day %(d)s of the month.") % {"d": schedule.day_of_month}


def placeholder_values(period_date: date, period_end: date) -> dict:
    return {"period_start": dateformat.format(period_date, "j M Y"),
            "period_end": dateformat.format(period_end, "j M Y"),
            "month": dateformat.format(period_date, "F Y"), "year": str(period_date.year)}


# --- preview ----------------------------------------------------------------------------------

@dataclass
class PreviewRun:
    date: date
    period_end: date
    total: Decimal
    billed: bool = False


def preview(schedule, lines: list[dict], today: date, count: int = 12) -> list[PreviewRun]:
    """The next `count` runs not billed yet (from today, or from an unbilled earlier date that
    the next run will catch up), each with its total by the invoicing rule."""
    total = preview_totals(lines, Decimal(0), schedule.customer.currency).totals.total if lines else Decimal(0)
    done = set()
    if schedule.pk:
        done = set(RecurringRun.objects.filter(schedule=schedule).values_list("period_date", flat=True))
    out = []
    for _k, when, end in schedule_dates(schedule, limit=count + len(done)):
        if when in done:
            continue
        out.append(PreviewRun(when, end, total))
        if len(out) >= count:
            break
    return out


def line_dicts(schedule) -> list[dict]:
    return [li.entry() for li in schedule.lines.select_related("tax_rate", "item")]


# --- saving, pausing ------------------------------------------------------------------------

@transaction.atomic
def save_schedule(org, schedule: RecurringSchedule | None, fields: dict, lines: list[dict],
                  actor=None) -> RecurringSchedule:
    """Create or update a schedule and replace its lines. Refused (nothing changed): an end before
    the start, a customer or item of another organization, no line, an archived customer."""
    customer = fields["customer"]
    if customer.organization_id != org.pk:
        raise RecurringError(_("That customer belongs to another organization."))
    if customer.is_archived:
        raise RecurringError(_("The customer is archived; restore it before billing it."))
    if fields.get("end_date") and fields["end_date"] < fields["start_date"]:
        raise RecurringError(_("The end date is before the start date."))
    if not lines:
        raise RecurringError(_("Add at least one line."))
    if not 1 <= fields.get("interval", 1) <= 24 or not 0 <= fields.get("day_of_month", 1) <= 31:
        raise RecurringError(_("Bill every 1 to 24 periods, on a day from 1 to 31 or the last day."))
    if any(li.get("item") is not None and li["item"].organization_id != org.pk for li in lines):
        raise RecurringError(_("That item belongs to another organization."))
    if schedule is None:
        schedule = RecurringSchedule(organization=org, created_by=actor)
    else:
        schedule = RecurringSchedule.objects.select_for_update().get(pk=schedule.pk, organization=org)
        if schedule.customer_id != customer.pk and schedule.runs.exists():
            raise RecurringError(_("This schedule has billed %(customer)s already; start a new schedule for "
                                   "another customer.") % {"customer": schedule.customer.name})
    for name, value in fields.items():
        setattr(schedule, name, value)
    schedule.save()
    schedule.lines.all().delete()
    RecurringLine.objects.bulk_create([RecurringLine.from_entry(org, n, li, schedule=schedule)
                                       for n, li in enumerate(lines, start=1)])
    return schedule


@transaction.atomic
def set_paused(schedule: RecurringSchedule, paused: bool, today: date | None = None) -> RecurringSchedule:
    """Pause, or resume. Resuming records the periods that fell due while paused as skipped (they
    are not billed afterwards)."""
    schedule = RecurringSchedule.objects.select_for_update().get(pk=schedule.pk)
    if paused and not schedule.is_paused:
        schedule.paused_at = timezone.now()
    elif not paused and schedule.is_paused:
        today = today or org_today(schedule.organization_id)
        done = set(schedule.runs.values_list("period_date", flat=True))
        RecurringRun.objects.bulk_create([
            RecurringRun(organization_id=schedule.organization_id, schedule=schedule, period_date=when,
                         period_end=end, status=RunStatus.SKIPPED, message=_("Paused on this date."))
            for _k, when, end in schedule_dates(schedule, today) if when not in done])
        schedule.paused_at = None
    schedule.save(update_fields=["paused_at"])
    return schedule


# --- the run ----------------------------------------------------------------------------------

def org_today(org_id: int, now: datetime | None = None) -> date:
    """The organization's own date (accounts.models_org: the one "today" of the application)."""
    return load(org_id).today(now)


@dataclass
class RunResult:
    runs: list = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.runs if r.status == status)


def run_due(now: datetime | None = None, org_ids=None, today: date | None = None) -> RunResult:
    """Bill every due period of every active schedule (all organizations, or `org_ids`).
    `today` overrides each organization's today (tests and tools)."""
    now = now or timezone.now()
    result = RunResult()
    orgs = organization_ids()
    if org_ids is not None:
        orgs = [pk for pk in orgs if pk in set(org_ids)]
    from invoicing.recurring_batch import BATCH, bill_batch

    for org_id in orgs:
        with tenant_context(org_id):
            day = today or org_today(org_id, now)
            candidates = (RecurringSchedule.objects.filter(organization_id=org_id, paused_at__isnull=True,
                                                           start_date__lte=day)
                          .annotate(done=Count("runs")).order_by("pk"))
            # Runs exist only for billing dates, so fewer runs than dates due means something is
            # due: only those schedules are locked and billed (the lock re-checks, exactly).
            due = [s.pk for s in candidates if sum(1 for _ in schedule_dates(s, day)) > s.done]
            org = Organization.objects.get(pk=org_id) if due else None
            for start in range(0, len(due), BATCH):
                runs, left = bill_batch(org, due[start:start + BATCH], day)
                result.runs.extend(runs)
                for schedule_id in left:
                    result.runs.extend(run_schedule(schedule_id, day))
    log.info("recurring run: %s issued, %s drafts, %s skipped", result.count(RunStatus.ISSUED)
             + result.count(RunStatus.SENT), result.count(RunStatus.CREATED), result.count(RunStatus.SKIPPED))
    return result


@transaction.atomic
def run_schedule(schedule_id: int, today: date) -> list[RecurringRun]:
    """Bill the schedule's periods due on or before `today` that have no run yet, under its row
    lock. Returns the runs made (none when another worker made them first)."""
    schedule = (RecurringSchedule.objects.select_for_update(of=("self",))
                .select_related("customer", "organization").get(pk=schedule_id))
    if schedule.is_paused:
        return []
    done = set(schedule.runs.values_list("period_date", flat=True))
    lines = line_dicts(schedule)
    inv_settings = InvoiceSettings.objects.get(organization_id=schedule.organization_id)
    made = []
    for _k, when, end in schedule_dates(schedule, today):
        if when in done:
            continue
        made.append(_bill(schedule, lines, when, end, today, inv_settings))
        if len(made) >= MAX_CATCH_UP:
            break
    return made


def _bill(schedule, lines, when: date, end: date, today: date, inv_settings) -> RecurringRun:
    from invoicing.mail import draft_message, queue_invoice_email
    from invoicing.services import InvoiceError, issue_invoice, record_event, save_draft

    run = RecurringRun(organization_id=schedule.organization_id, schedule=schedule, period_date=when,
                       period_end=end, caught_up=when < today)
    customer = schedule.customer
    if customer.is_archived:
        run.status, run.message = RunStatus.SKIPPED, _("The customer is archived.")
        run.save()
        return run
    values = placeholder_values(when, end)
    invoice_lines = [{**li, "description": fill(li["description"], values)[:500]} for li in lines]
    fields = {"customer": customer, "issue_date": when, "due_date": when + timedelta(days=schedule.payment_terms_days),
              "reference": fill(schedule.reference, values)[:100], "discount_percent": Decimal(0),
              "notes": fill(schedule.notes, values), "terms": inv_settings.default_terms}
    try:
        with transaction.atomic():
            invoice = save_draft(schedule.organization, None, fields, invoice_lines)
    except LedgerError as e:
        run.status, run.message = RunStatus.SKIPPED, " ".join(e.messages)[:500]
        run.save()
        return run
    run.invoice, run.status = invoice, RunStatus.CREATED
    record_event(invoice, "recurring", _("Created by the schedule “%(name)s” for %(start)s – %(end)s")
                 % {"name": schedule.name, "start": values["period_start"], "end": values["period_end"]})
    if schedule.action in (RunAction.ISSUE, RunAction.SEND):
        try:
            with transaction.atomic():
                invoice = issue_invoice(invoice)
            run.status = RunStatus.ISSUED
        except (InvoiceError, LedgerError) as e:
            run.message = (_("Left as a draft for review: %(reason)s") % {"reason": " ".join(e.messages)})[:500]
    if schedule.action == RunAction.SEND and run.status == RunStatus.ISSUED:
        if not customer.email_list:
            run.message = _("Not e-mailed: the customer has no billing e-mail address.")
        else:
            message = draft_message(invoice)
            queue_invoice_email(invoice, customer.email_list, message["subject"], message["body"],
                                base_url=django_settings.PUBLIC_BASE_URL)
            run.status = RunStatus.SENT
    run.save()
    return run
