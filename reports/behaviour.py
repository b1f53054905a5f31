"""Payment behaviour over any window (issue 20), per customer and overall, split disputed /
undisputed.

Which invoices: those paid in full by payments (reports_paidinvoice, the same rule as the
insights page: nothing due, something paid, nothing written off) whose paid day — the last day
anything moved their open amount — falls in the window [start, end], in one currency.

Per invoice: days to pay = paid day − invoice date; delay = paid day − due date; late = delay > 0;
days late = delay when late, else 0 (early payers do not hide late ones).

Per group, kept as plain sums so any average can be checked by hand:
count, Σ total, Σ days to pay, Σ total × days to pay, number late, Σ days late, worst delay,
number paid by the due date. Averages: days to pay = Σ days / count; amount-weighted days to pay
= Σ total × days / Σ total; days late over all = Σ days late / count; over late ones only =
Σ days late / number late; on-time share = number on time / count. Rounded to 0.1 for display.

Disputed: the invoice was put on dispute hold (an invoice event "disputed", written by
invoicing.services.set_dispute) on or before its paid day in the organization's time zone. Read
only; a history of disputes with amounts would refine this when it exists.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from accounts.models_org import today_in
from reports.asof import ZERO, report_cursor
from reports.dso import Unavailable, books_start

TENTH = Decimal("0.1")
DEFAULT_DAYS = 365

# One pass over the organization's paid invoices of the window (an index-only range of
# reports_paid_org_day, which carries the invoice total): the organization's dispute events are read
# once (a partial index) and hashed instead of being probed per invoice. Grouped per customer and
# disputed / undisputed, plus per disputed / undisputed and overall (GROUPING SETS), so no sum is
# redone in Python; each customer's name joined to its group rows.
GROUPS_SQL = """
WITH disputes AS (
    SELECT e.invoice_id, min((e.at AT TIME ZONE %(tz)s)::date) AS first_day FROM invoicing_invoiceevent e
    WHERE e.organization_id = %(org)s AND e.kind = 'disputed' GROUP BY e.invoice_id
),
paid AS (
    SELECT p.customer_id, p.issue_date, p.due_date, p.paid_on, p.total,
           coalesce(d.first_day <= p.paid_on, false) AS disputed
    FROM reports_paidinvoice p LEFT JOIN disputes d ON d.invoice_id = p.invoice_id
    WHERE p.organization_id = %(org)s AND p.currency = %(cur)s AND p.paid_on >= %(start)s AND p.paid_on <= %(end)s
),
groups AS (
    SELECT customer_id, disputed, grouping(customer_id, disputed) AS level, count(*) AS n, sum(total) AS amount,
           sum(paid_on - issue_date) AS days, sum(total * (paid_on - issue_date)) AS weighted,
           count(*) FILTER (WHERE paid_on > due_date) AS late_n, sum(greatest(paid_on - due_date, 0)) AS late_days,
           max(paid_on - due_date) AS worst, count(*) FILTER (WHERE paid_on <= due_date) AS on_time
    FROM paid GROUP BY GROUPING SETS ((customer_id, disputed), (disputed), ())
)
SELECT g.level, g.customer_id, g.disputed, c.name, g.n, g.amount, g.days, g.weighted, g.late_n, g.late_days, g.worst,
       g.on_time
FROM groups g LEFT JOIN accounts_customer c ON c.id = g.customer_id AND c.organization_id = %(org)s
"""


def _avg(total, n) -> Decimal | None:
    return None if not n else (Decimal(total) / Decimal(n)).quantize(TENTH, ROUND_HALF_UP)


@dataclass
class Stats:
    count: int = 0
    amount: Decimal = ZERO
    days_sum: int = 0
    weighted_sum: Decimal = ZERO
    late_count: int = 0
    late_days_sum: int = 0
    worst: int | None = None  # largest delay (negative: everything paid early)
    on_time_count: int = 0

    def add(self, other: "Stats") -> None:
        self.count += other.count
        self.amount += other.amount
        self.days_sum += other.days_sum
        self.weighted_sum += other.weighted_sum
        self.late_count += other.late_count
        self.late_days_sum += other.late_days_sum
        if other.worst is not None:
            self.worst = other.worst if self.worst is None else max(self.worst, other.worst)
        self.on_time_count += other.on_time_count

    @property
    def days_to_pay(self):
        return _avg(self.days_sum, self.count)

    @property
    def weighted_days(self):
        return None if self.amount <= 0 else (self.weighted_sum / self.amount).quantize(TENTH, ROUND_HALF_UP)

    @property
    def days_late(self):
        return _avg(self.late_days_sum, self.count)

    @property
    def days_late_of_late(self):
        return _avg(self.late_days_sum, self.late_count)

    @property
    def worst_delay(self) -> int | None:
        return None if self.worst is None else max(self.worst, 0)

    @property
    def on_time_percent(self):
        return _avg(self.on_time_count * 100, self.count)


@dataclass
class Row:
    customer_id: int
    name: str = ""
    all: Stats = field(default_factory=Stats)
    disputed: Stats = field(default_factory=Stats)
    undisputed: Stats = field(default_factory=Stats)


@dataclass
class Report:
    start: date
    end: date
    currency: str
    total: Row
    rows: list[Row]


def window(org, choice: str, start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """ "12m" (default: the 365 days ending today), "all" (since the books start) or "range"."""
    today = today_in(org)
    first = books_start(org)
    if first is None:
        raise Unavailable("Nothing has been posted yet, so no invoice has been paid.")
    if choice == "all":
        return first, today
    if choice == "range":
        if start is None or end is None:
            raise Unavailable("Give both the first and the last day of the range.")
        if start > end:
            raise Unavailable("The range starts after it ends.")
        if start > today:
            raise Unavailable(f"The range starts in the future (today is {today.isoformat()}).")
        return start, min(end, today)
    return today - timedelta(days=DEFAULT_DAYS - 1), today


# The side (disputed or undisputed) a customer has no invoice on: one shared empty Stats, read only (a
# hundred thousand customers would otherwise build two empty ones each). Only fresh Stats are added to.
NONE = Stats()


def behaviour(org, currency: str, start: date, end: date) -> Report:
    with report_cursor() as cursor:
        cursor.execute(GROUPS_SQL, {"org": org.pk, "cur": currency, "start": start, "end": end, "tz": org.timezone})
        groups = cursor.fetchall()
    rows: dict[int, Row] = {}
    total = Row(customer_id=0)
    for level, customer_id, disputed, name, *figures in groups:
        if not figures[0]:  # the overall row of an empty window
            continue
        s = Stats(*figures)
        if level == 3:  # () : everything
            total.all = s
        elif level == 2:  # (disputed)
            if disputed:
                total.disputed = s
            else:
                total.undisputed = s
        else:  # (customer_id, disputed)
            row = rows.get(customer_id)
            if row is None:  # the customer's one group so far is also its whole (nothing adds to it below)
                rows[customer_id] = Row(customer_id, name or "", s, s if disputed else NONE, NONE if disputed else s)
                continue
            whole = Stats()  # its second group: both in a new whole
            whole.add(row.all)
            whole.add(s)
            row.all = whole
            if disputed:
                row.disputed = s
            else:
                row.undisputed = s
    ordered = sorted(rows.values(), key=lambda r: (-r.all.amount, r.name, r.customer_id))
    return Report(start=start, end=end, currency=currency, total=total, rows=ordered)
