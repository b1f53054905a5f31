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

# The organization's paid invoices of the window (an index-only range of reports_paid_org_day, which
# carries the invoice total), each marked disputed or not: the organization's dispute events are read
# once (a partial index) and hashed instead of being probed per invoice.
PAID_SQL = """
WITH disputes AS (
    SELECT e.invoice_id, min((e.at AT TIME ZONE %(tz)s)::date) AS first_day FROM invoicing_invoiceevent e
    WHERE e.organization_id = %(org)s AND e.kind = 'disputed' GROUP BY e.invoice_id
),
paid AS (
    SELECT p.customer_id, p.issue_date, p.due_date, p.paid_on, p.total,
           coalesce(d.first_day <= p.paid_on, false) AS disputed
    FROM reports_paidinvoice p LEFT JOIN disputes d ON d.invoice_id = p.invoice_id
    WHERE p.organization_id = %(org)s AND p.currency = %(cur)s AND p.paid_on >= %(start)s AND p.paid_on <= %(end)s
)"""

# The figures of a group, in Stats' order. Amounts are summed as integer thousandths (total is numeric(18,3)):
# bigint sums run on 128-bit integers, about a third faster than numeric ones over 644,890 rows, and are exact;
# × 0.001 gives back scale 3. Total × days to pay as bigint is safe below 10⁹ (10¹² thousandths × 9 million
# days); a larger invoice is summed as numeric, so no product can overflow.
FIGURES = """count(*) AS n, sum((total * 1000)::bigint) * 0.001 AS amount, sum(paid_on - issue_date) AS days,
       (coalesce(sum((total * 1000)::bigint * (paid_on - issue_date)) FILTER (WHERE total < 1000000000), 0)
        + coalesce(sum(trunc(total * 1000) * (paid_on - issue_date)) FILTER (WHERE total >= 1000000000), 0)) * 0.001
       AS weighted, count(*) FILTER (WHERE paid_on > due_date) AS late_n,
       sum(greatest(paid_on - due_date, 0)) AS late_days, max(paid_on - due_date) AS worst,
       count(*) FILTER (WHERE paid_on <= due_date) AS on_time"""

# The figures summed once per customer and disputed / undisputed (cg); the disputed / undisputed and overall
# rows are re-added from those (exact: integer and numeric sums), not summed again over every invoice.
GROUPED_SQL = PAID_SQL + """,
cg AS MATERIALIZED (
    SELECT customer_id, disputed, """ + FIGURES + """
    FROM paid GROUP BY customer_id, disputed
)"""  # noqa: S608 - built from constants only
OVERALL_SQL = """
SELECT grouping(disputed) + 2, NULL::bigint, disputed, NULL::text, sum(n)::bigint, sum(amount), sum(days)::bigint,
       sum(weighted), sum(late_n)::bigint, sum(late_days)::bigint, max(worst), sum(on_time)::bigint
FROM cg GROUP BY GROUPING SETS ((disputed), ())
UNION ALL"""

# Every customer's rows, each with its name.
ALL_SQL = GROUPED_SQL + OVERALL_SQL + """
SELECT 0, g.customer_id, g.disputed, c.name, g.n, g.amount, g.days, g.weighted, g.late_n, g.late_days, g.worst,
       g.on_time
FROM cg g LEFT JOIN accounts_customer c ON c.id = g.customer_id AND c.organization_id = %(org)s
"""  # noqa: S608 - built from constants only

# Only one page's customers (ordered as the page orders them: amount descending, then name by code point,
# then id), and how many customers there are in all.
PAGE_SQL = GROUPED_SQL + """,
ranked AS MATERIALIZED (SELECT customer_id, sum(amount) AS amount FROM cg GROUP BY customer_id),
cut AS (SELECT amount FROM ranked ORDER BY amount DESC OFFSET %(last)s LIMIT 1),
shown AS (
    -- Names only for the customers that can be on the page (amount at least the page's last place's; ties are
    -- ordered by name), not ninety thousand look-ups.
    SELECT r.customer_id, coalesce(c.name, '') AS name FROM ranked r
    LEFT JOIN accounts_customer c ON c.id = r.customer_id AND c.organization_id = %(org)s
    WHERE NOT EXISTS (SELECT FROM cut) OR r.amount >= (SELECT amount FROM cut)
    ORDER BY r.amount DESC, name COLLATE "C", r.customer_id LIMIT %(limit)s OFFSET %(offset)s
)""" + OVERALL_SQL + """
SELECT 0, g.customer_id, g.disputed, s.name, g.n, g.amount, g.days, g.weighted, g.late_n, g.late_days, g.worst,
       g.on_time
FROM cg g JOIN shown s ON s.customer_id = g.customer_id
UNION ALL
SELECT -1, NULL, NULL, NULL, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM ranked
"""  # noqa: S608 - built from constants only


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
    rows: list[Row]  # every customer, or only one page's (behaviour_page)
    customers: int  # how many customers paid in the window


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
    """Every customer's row (the CSV export)."""
    total, rows = _build(_fetch(ALL_SQL, org, currency, start, end))
    return Report(start=start, end=end, currency=currency, total=total, rows=rows, customers=len(rows))


def behaviour_page(org, currency: str, start: date, end: date, page: int, per_page: int) -> Report:
    """The overall figures and one page (1-based) of the customers' rows, as the page shows them; a hundred
    thousand customers are ordered in SQL instead of built in Python."""
    offset = (page - 1) * per_page
    groups = _fetch(PAGE_SQL, org, currency, start, end, limit=per_page, offset=offset, last=offset + per_page - 1)
    customers = next(g[4] for g in groups if g[0] == -1)
    total, rows = _build([g for g in groups if g[0] != -1])
    return Report(start=start, end=end, currency=currency, total=total, rows=rows, customers=customers)


def _fetch(sql, org, currency, start, end, **more) -> list[tuple]:
    params = {"org": org.pk, "cur": currency, "start": start, "end": end, "tz": org.timezone, **more}
    with report_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _build(groups) -> tuple[Row, list[Row]]:
    """The overall row and the customers' rows (ordered) from (level, customer, disputed, name, figures…)."""
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
    return total, sorted(rows.values(), key=lambda r: (-r.all.amount, r.name, r.customer_id))
