"""The reminder scan: which invoices reach a schedule point now, written to the outbox in one statement.

`scan(now)` runs every 15 minutes (django-q2 schedule, reminders.tasks.run_scan). For each
organization that is not paused it enters that organization's tenant context and, in one
transaction, runs one INSERT … SELECT over its open invoices:

* eligible: issued, amount due > 0, an ordinary invoice (late-fee documents get no reminders of
  their own), no active dispute, no active promise to pay, customer not marked "do not remind";
* the policy: the customer's own, else the organization's default;
* the day: the organization's local date, and a point due today only counts from the local send
  hour (default 08:00), so nobody is reminded at 03:00 their time;
* **the catch-up rule**: of the points not yet handled for an invoice (offset above the highest
  offset already in its outbox) that are due by today, only the latest is sent; the earlier ones
  are written as *skipped*. After a 10-day outage, or when a hold ends, a customer gets one
  message, never a burst, and never one that the schedule has already passed;
* one row per invoice and point: a partial unique index on (invoice, offset) and
  `ON CONFLICT DO NOTHING`. Two scans running at once both try the insert; the second waits on
  the first's uncommitted index entry and then inserts nothing.

Rows are only written here; sending happens after commit (`transaction.on_commit` queues the
delivery task), in reminders/outbox.py. The scan reads invoices through the partial index
`reminders_open_invoice_due (organization_id, due_date) WHERE open`, restricted to the due-date
window in which any point of any policy can still fire: the cost grows with the open invoices in
that window, never with all invoices.
"""

import logging
import time as clock
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.org_directory import organization_ids
from invoicing import invoice_sql, outgoing
from invoicing.models_documents import DeliveryKind
from ledger_site import outbox as engine
from ledger_site.tenancy import organization_of, tenant_context
from reminders.holds import held_sql, on_plan_sql
from reminders.models import BATCH_OUTBOX, OUTBOX
from reminders.setup import ensure_setup

log = logging.getLogger("reminders.scan")
NEXT_STEP_HORIZON = 3650  # days ahead next_step_id looks for a point to come
SKIP_NOTE = "skipped by the catch-up rule: a later step was due at the same time"

# The schedule points of every policy of the organization: the steps, then the repeats of each
# policy's last step. RLS limits every table to the organization; the filters say it again.
_POINTS = """
pol AS (
    SELECT id, is_default, repeat_every_days, repeat_limit
    FROM reminders_reminderpolicy WHERE organization_id = %(org)s
), pts AS (
    SELECT s.policy_id, s.id AS step_id, s.offset_days, 0 AS rep, s.tone
    FROM reminders_reminderstep s WHERE s.organization_id = %(org)s
    UNION ALL
    SELECT p.id, l.id, l.offset_days + g * p.repeat_every_days, g, l.tone
    FROM pol p
    JOIN LATERAL (SELECT id, offset_days, tone FROM reminders_reminderstep s
                  WHERE s.policy_id = p.id ORDER BY offset_days DESC LIMIT 1) l ON true
    CROSS JOIN LATERAL generate_series(1, p.repeat_limit) g
    WHERE p.repeat_every_days IS NOT NULL
)"""

# Which policy applies to an invoice: its customer's own, else the organization's default.
_POLICY_OF = "COALESCE(cs.policy_id, (SELECT id FROM pol WHERE is_default))"

# Open invoices in the window where a point can still fire, with their policy and the highest
# offset already handled. `held` says why nothing may go out now (NULL: nothing holds it).
_CANDIDATES = """
cand AS MATERIALIZED (
    SELECT i.id AS invoice_id, i.customer_id, i.due_date,
           """ + _POLICY_OF + """ AS policy_id,
           (%(today)s::date - i.due_date) AS days,
           handled.last_offset,
           CASE WHEN """ + invoice_sql.is_disputed("i", "%(today)s") + """ THEN 'disputed'
                WHEN COALESCE(cs.do_not_remind, false) THEN 'do_not_remind'
                WHEN EXISTS (SELECT 1 FROM reminders_promisetopay pp WHERE pp.invoice_id = i.id
                             AND pp.cancelled_at IS NULL AND pp.until >= %(today)s::date) THEN 'promise'
                WHEN """ + on_plan_sql("i") + """ THEN 'plan'
                WHEN """ + held_sql("i", "%(today)s") + """ THEN 'held'
           END AS held
    FROM invoicing_invoice i
    LEFT JOIN reminders_customerremindersettings cs ON cs.customer_id = i.customer_id
    CROSS JOIN LATERAL (SELECT max(m.offset_days) AS last_offset FROM reminders_remindermessage m
                        WHERE m.invoice_id = i.id AND m.kind = 'scheduled') handled
    WHERE i.organization_id = %(org)s AND """ + invoice_sql.is_open("i") + """ AND i.kind = 'invoice'
      AND i.due_date BETWEEN %(first_due)s AND %(last_due)s
      AND (%(invoice)s::bigint IS NULL OR i.id = %(invoice)s::bigint)
)"""  # noqa: S608 - built from constants only

_DUE = """
due AS (
    SELECT c.invoice_id, c.customer_id, c.due_date, pts.step_id, pts.offset_days, pts.rep, pts.tone,
           row_number() OVER (PARTITION BY c.invoice_id ORDER BY pts.offset_days DESC) AS rn
    FROM cand c JOIN pts ON pts.policy_id = c.policy_id
    WHERE c.held IS NULL AND pts.offset_days <= c.days
      AND (c.last_offset IS NULL OR pts.offset_days > c.last_offset)
)"""

# Composed of the constant parts above; every value is a bound parameter.
_INSERT = "".join(["WITH ", _POINTS, ", ", _CANDIDATES, ", ", _DUE, """
INSERT INTO reminders_remindermessage
    (organization_id, invoice_id, customer_id, kind, status, step_id, offset_days, "repeat", tone, due_at,
     created_at, attempts, next_attempt_at, claim_token, message_id, to_emails, subject, body, result, last_error)
SELECT %(org)s, invoice_id, customer_id, 'scheduled', CASE WHEN rn = 1 THEN 'pending' ELSE 'skipped' END,
       step_id, offset_days, rep, tone,
       ((due_date + offset_days) + make_interval(hours => %(hour)s)) AT TIME ZONE %(tz)s,
       %(now)s, 0, %(now)s, '', '', '', '', '', CASE WHEN rn = 1 THEN '' ELSE %(skip_note)s END, ''
FROM due
ORDER BY invoice_id, offset_days
ON CONFLICT (invoice_id, offset_days) WHERE kind = 'scheduled' DO NOTHING
RETURNING id, status
"""])

_PREVIEW = "".join(["WITH ", _POINTS, ", ", _CANDIDATES, ", ", _DUE, """
SELECT d.invoice_id, i.number, c.name, c.billing_emails, i.amount_due, i.currency, d.due_date,
       d.offset_days, d.rep, d.tone, d.rn
FROM due d JOIN invoicing_invoice i ON i.id = d.invoice_id JOIN accounts_customer c ON c.id = d.customer_id
ORDER BY d.due_date, d.invoice_id, d.offset_days
"""])

# What the coming days hold: every point not yet handled up to `today + ahead`, holds included.
_UPCOMING = "".join(["WITH ", _POINTS, ", ", _CANDIDATES, """
SELECT c.invoice_id, i.number, cu.id, cu.name, cu.billing_emails, i.amount_due, i.currency, c.due_date,
       pts.offset_days, pts.rep, pts.tone, c.held, pts.step_id
FROM cand c
JOIN pts ON pts.policy_id = c.policy_id
JOIN invoicing_invoice i ON i.id = c.invoice_id
JOIN accounts_customer cu ON cu.id = c.customer_id
WHERE (c.last_offset IS NULL OR pts.offset_days > c.last_offset)
  AND c.due_date + pts.offset_days <= %(today)s::date + %(ahead)s
ORDER BY c.due_date + pts.offset_days, i.number, pts.offset_days
"""])

# The due dates for which some point can still fire: computed first and passed as constants, so the
# planner can range-scan the partial index reminders_open_invoice_due.
_BOUNDS = "".join(["WITH ", _POINTS, " SELECT min(offset_days), max(offset_days) FROM pts"])

# Consolidated policies (ReminderPolicy.one_message_per_customer): the new pending rows whose step
# belongs to such a policy, by customer. They join the customer's e-mail of the day (ReminderBatch,
# its e-mail a pending row of invoicing's outbox), written here if there is none; a batch is joined
# only while its e-mail is pending, under that row's lock, so a sender that has claimed it (and
# rendered its list) never marks a row sent it did not list.
_NEW = """
    SELECT m.id, m.customer_id FROM reminders_remindermessage m
    JOIN reminders_reminderstep s ON s.id = m.step_id
    JOIN reminders_reminderpolicy p ON p.id = s.policy_id
    WHERE m.organization_id = %(org)s AND m.id = ANY(%(ids)s) AND m.batch_id IS NULL
      AND p.one_message_per_customer
"""
# Customers of those rows without an e-mail of that day yet: each gets its outbox row first.
_WITHOUT_BATCH = "SELECT DISTINCT new.customer_id FROM (" + _NEW + """) new
WHERE NOT EXISTS (SELECT 1 FROM reminders_reminderbatch b
                  WHERE b.organization_id = %(org)s AND b.customer_id = new.customer_id AND b.day = %(day)s::date)
ORDER BY 1
"""  # noqa: S608 - built from constants only
_TO_BATCH = "WITH new AS (" + _NEW + """), created AS (
    INSERT INTO reminders_reminderbatch (organization_id, customer_id, day, tone, created_at, email_id)
    SELECT %(org)s, u.customer_id, %(day)s::date, 'friendly', %(now)s, u.email_id
    FROM unnest(%(customers)s::bigint[], %(emails)s::bigint[]) AS u(customer_id, email_id)
    ON CONFLICT (organization_id, customer_id, day) DO NOTHING
    RETURNING customer_id, id
), waiting AS (
    SELECT b.customer_id, b.id FROM reminders_reminderbatch b
    JOIN invoicing_emaildelivery e ON e.id = b.email_id
    WHERE b.organization_id = %(org)s AND b.day = %(day)s::date AND e.status = 'pending'
      AND b.customer_id IN (SELECT customer_id FROM new)
    ORDER BY b.id
    FOR UPDATE OF b, e
), open AS (
    SELECT customer_id, id FROM created UNION ALL SELECT customer_id, id FROM waiting
), joined AS (
    UPDATE reminders_remindermessage m SET batch_id = open.id
    FROM new JOIN open USING (customer_id)
    WHERE m.id = new.id
    RETURNING m.id
)
SELECT new.id, joined.id IS NOT NULL FROM new LEFT JOIN joined USING (id)
"""  # noqa: S608 - built from constants only
MAX_DAYS_AHEAD = 31  # a customer whose e-mail of the day has gone waits for the next day's, not longer


def batch_new_rows(cursor, org_id: int, ids: list[int], day: date, settings, now: datetime) -> int:
    """Put the new pending rows of consolidating policies into their customer's e-mail of `day` (or,
    if that one is already being sent or has gone, of the first later day whose e-mail is still
    pending): at most one reminder e-mail per customer a day. A few statements per day tried (nearly
    always just today); returns how many rows were batched."""
    batched = 0
    for ahead in range(MAX_DAYS_AHEAD):
        on = day + timedelta(days=ahead)
        at = now if ahead == 0 else datetime.combine(on, time(settings.send_hour), tzinfo=settings.zone)
        params = {"org": org_id, "ids": ids, "day": on, "now": now}
        cursor.execute(_WITHOUT_BATCH, params)
        emails = outgoing.queue_scheduled_each(org_id, DeliveryKind.REMINDER_BATCH,
                                               [row[0] for row in cursor.fetchall()], due_at=at,
                                               max_attempts=BATCH_OUTBOX.max_attempts)
        cursor.execute(_TO_BATCH, {**params, "customers": list(emails), "emails": list(emails.values())})
        rows = cursor.fetchall()
        if emails:  # a concurrent scan wrote some of these customers' e-mail of the day first
            cursor.execute("SELECT email_id FROM reminders_reminderbatch WHERE email_id = ANY(%s)",
                           [list(emails.values())])
            unused = set(emails.values()) - {row[0] for row in cursor.fetchall()}
            if unused:
                outgoing.cancel_scheduled(unused, "Not sent: another scan wrote this customer's e-mail of the day.")
        batched += sum(placed for _id, placed in rows)
        ids = [row_id for row_id, placed in rows if not placed]  # that day's e-mail is being sent or has gone
        if not ids:
            break
    return batched


def send_day(now: datetime, settings) -> date:
    """The local day whose points may go out at `now`: today from the send hour on, else yesterday."""
    local = now.astimezone(settings.zone)
    return local.date() if local.hour >= settings.send_hour else local.date() - timedelta(days=1)


def local_today(now: datetime, settings) -> date:
    """Today in the organization at `now`: `Organization.today`, the one "today" of every page."""
    return organization_of(settings).today(now)


def _params(org_id, settings, now, today, ahead=0):
    params = {"org": org_id, "today": today, "now": now, "hour": settings.send_hour, "tz": settings.timezone,
              "ahead": ahead, "skip_note": SKIP_NOTE, "invoice": None}
    with connection.cursor() as cursor:
        cursor.execute(_BOUNDS, params)
        lo, hi = cursor.fetchone()
    if lo is None:  # no steps at all: an empty window
        params.update(first_due=today + timedelta(days=1), last_due=today)
    else:
        params.update(first_due=today - timedelta(days=hi), last_due=today - timedelta(days=lo - ahead))
    return params


@dataclass
class OrgScan:
    organization_id: int
    paused: bool = False
    queued: int = 0
    skipped: int = 0
    batched: int = 0  # of the queued rows, those that go out in a customer's one e-mail of the day
    redeliver: bool = False
    seconds: float = 0.0


@dataclass
class ScanResult:
    now: datetime
    orgs: list[OrgScan] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def queued(self) -> int:
        return sum(o.queued for o in self.orgs)

    @property
    def skipped(self) -> int:
        return sum(o.skipped for o in self.orgs)


def scan(now: datetime | None = None, org_ids=None, enqueue=None) -> ScanResult:
    """One scan over every organization (or `org_ids`). `now` is injectable for tests and tools.
    `enqueue(org_id, count)` is called after each organization's commit (default: queue the
    django-q2 delivery task)."""
    now = now or timezone.now()
    enqueue = enqueue or _enqueue_delivery
    started = clock.perf_counter()
    result = ScanResult(now=now)
    orgs = organization_ids()
    if org_ids is not None:
        orgs = [pk for pk in orgs if pk in set(org_ids)]
    for org_id in orgs:
        result.orgs.append(scan_organization(org_id, now, enqueue))
    result.seconds = clock.perf_counter() - started
    log.info("reminder scan: %s queued, %s skipped in %.2fs", result.queued, result.skipped, result.seconds)
    return result


def scan_organization(org_id: int, now: datetime, enqueue=None) -> OrgScan:
    from reminders import plans  # payment plans' instalments (reminders/plans.py)

    enqueue = enqueue or _enqueue_delivery
    started = clock.perf_counter()
    outcome = OrgScan(org_id)
    with tenant_context(org_id), transaction.atomic():
        settings = ensure_setup(Organization(pk=org_id))
        today = local_today(now, settings)
        if settings.last_scan_at is None or local_today(settings.last_scan_at, settings) != today:
            from reminders.promises import check_promises  # first scan of the local day: promises due

            check_promises(Organization.objects.get(pk=org_id), today)  # in org_id's context
            plans.check_plans(Organization.objects.get(pk=org_id), today)  # payment plans: kept, broken
        if settings.paused:
            outcome.paused = True
        else:
            with connection.cursor() as cursor:
                day = send_day(now, settings)
                cursor.execute(_INSERT, _params(org_id, settings, now, day))
                written = cursor.fetchall()
                outcome.queued = sum(status == "pending" for _id, status in written)
                outcome.skipped = len(written) - outcome.queued
                pending = [row_id for row_id, status in written if status == "pending"]
                if pending:
                    outcome.batched = batch_new_rows(cursor, org_id, pending, day, settings, now)
            # Payment plans' instalments: their own rows (kind "instalment"), never in a consolidated e-mail.
            outcome.queued += plans.queue_reminders(org_id, day, now)
            outcome.redeliver = (engine.has_claimable(OUTBOX, org_id, now)
                                 or engine.has_claimable(BATCH_OUTBOX, org_id, now))
        settings.last_scan_at = now
        settings.save(update_fields=["last_scan_at"])
        if outcome.redeliver:
            count = outcome.queued
            transaction.on_commit(lambda: enqueue(org_id, count))
    outcome.seconds = clock.perf_counter() - started
    return outcome


def _enqueue_delivery(org_id: int, count: int) -> None:
    from reminders.tasks import enqueue_delivery

    enqueue_delivery(org_id, count)


@dataclass(frozen=True)
class Planned:
    invoice_id: int
    number: str
    customer: str
    emails: str
    amount_due: object
    currency: str
    due_date: date
    offset_days: int
    repeat: int
    tone: str
    send: bool  # False: recorded as skipped by the catch-up rule


def plan(org_id: int, now: datetime) -> list[Planned]:
    """What a scan at `now` would write, without writing it (run_reminders --dry-run)."""
    with tenant_context(org_id):
        settings = ensure_setup(Organization(pk=org_id))
        if settings.paused:
            return []
        with connection.cursor() as cursor:
            cursor.execute(_PREVIEW, _params(org_id, settings, now, send_day(now, settings)))
            rows = cursor.fetchall()
    return [Planned(*row[:10], send=row[10] == 1) for row in rows]


@dataclass(frozen=True)
class Upcoming:
    invoice_id: int
    number: str
    customer_id: int
    customer: str
    emails: str
    amount_due: object
    currency: str
    due_date: date
    offset_days: int
    repeat: int
    tone: str
    held: str | None
    step_id: int | None
    on: date

    @property
    def cannot_send(self) -> bool:
        return not any(e.strip() for e in self.emails.split(","))

    @property
    def label(self) -> str:
        sign = "+" if self.offset_days > 0 else ""
        return f"{sign}{self.offset_days}" + (f" (r{self.repeat})" if self.repeat else "")


def upcoming(org_id: int, now: datetime, days: int = 7, limit: int = 500) -> tuple[list[Upcoming], int]:
    """Points that will fire from now to `days` ahead, by date. Points already overdue are collapsed
    by the catch-up rule into the one the next scan sends (shown on today's date)."""
    with tenant_context(org_id):
        settings = ensure_setup(Organization(pk=org_id))
        today = local_today(now, settings)
        with connection.cursor() as cursor:
            cursor.execute(_UPCOMING, _params(org_id, settings, now, today, ahead=days))
            rows = cursor.fetchall()
    by_invoice_overdue: dict[int, Upcoming] = {}
    result = []
    for row in rows:
        item = Upcoming(*row, on=row[7] + timedelta(days=row[8]))
        if item.on <= today:
            current = by_invoice_overdue.get(item.invoice_id)
            if current is None or item.offset_days > current.offset_days:
                by_invoice_overdue[item.invoice_id] = item
        else:
            result.append(item)
    overdue = [Upcoming(**{**u.__dict__, "on": today}) for u in by_invoice_overdue.values()]
    items = sorted(overdue, key=lambda u: (u.number or "")) + result
    return items[:limit], len(items)


# The last step of the policy that applies to one invoice (when no point is left to fire).
_LAST_STEP = "".join(["WITH ", _POINTS, """
SELECT s.id FROM invoicing_invoice i
LEFT JOIN reminders_customerremindersettings cs ON cs.customer_id = i.customer_id
JOIN reminders_reminderstep s ON s.policy_id = """, _POLICY_OF, """
WHERE i.id = %(invoice)s AND i.organization_id = %(org)s
ORDER BY s.offset_days DESC LIMIT 1
"""])


def next_step_id(invoice, now: datetime) -> int | None:
    """The step the scan would use next for `invoice` (the default choice to send by hand): of the
    points due by the send day and not yet handled, the latest (the catch-up rule); else the next
    one to come; else the last step of its policy. The scan's own query decides, for one invoice."""
    org_id = invoice.organization_id
    with tenant_context(org_id):
        settings = ensure_setup(Organization(pk=org_id))
        day = send_day(now, settings)
        params = {**_params(org_id, settings, now, day, ahead=NEXT_STEP_HORIZON), "invoice": invoice.pk}
        with connection.cursor() as cursor:
            cursor.execute(_UPCOMING, params)
            rows = [(row[7] + timedelta(days=row[8]), row[8], row[12]) for row in cursor.fetchall()]
            due = [r for r in rows if r[0] <= day and r[2] is not None]
            if due:
                return max(due, key=lambda r: r[1])[2]
            later = [r for r in rows if r[2] is not None]
            if later:
                return min(later, key=lambda r: (r[0], r[1]))[2]
            cursor.execute(_LAST_STEP, params)
            row = cursor.fetchone()
    return row[0] if row else None

