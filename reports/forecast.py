"""Cash-in forecast: expected collections per week for the next 13 weeks.

How (the page says the same): every invoice open on the day (today, or a past day: what the
forecast said then, from the rows effective by then, reports.asof) is expected to be paid on its due date
shifted by its customer's own average days late over the last 12 months (reports.insights:
0 for customers who pay on time; customers with no paid invoice in the window get the
organization's average). Week 1 is today and the next six days. Invoices whose expected day is
already past are shown apart ("expected before today": late even by the customer's standards),
as are those expected after the 13 weeks. Unapplied credits are not cash to come and are left out.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from accounts import fx
from accounts.models_org import today_in
from accounts.money import round_money
from reports.asof import ZERO, org_currencies, report_cursor
from reports.insights import query_params as insights_params

WEEKS = 13
ALL = "*"  # issue 17: every currency, in the base currency at the rates of the forecast's day
OVERDUE, LATER = -1, WEEKS

FORECAST_SQL = """
WITH {ctes},
lateness AS (SELECT customer_id, {late} AS late FROM paid GROUP BY customer_id),
org_late AS (SELECT coalesce({late}, 0) AS late FROM paid),
expected AS (
    SELECT it.item_id AS id, it.customer_id, it.due_date, it.amount AS amount_due,
           it.due_date + round(coalesce(l.late, o.late))::int AS expected_on,
           round(coalesce(l.late, o.late))::int AS shift, l.late IS NULL AS org_average
    FROM items it LEFT JOIN lateness l ON l.customer_id = it.customer_id CROSS JOIN org_late o
    WHERE it.kind = 'i' AND it.amount > 0 AND it.currency = %(cur)s
),
weeks AS (
    SELECT e.*, CASE WHEN expected_on < %(today)s THEN -1
                     WHEN expected_on >= %(today)s + {days} THEN {weeks}
                     ELSE (expected_on - %(today)s) / 7 END AS week
    FROM expected e
)
"""  # noqa: S608 - built from constants only


@dataclass
class Week:
    index: int  # -1 expected before today, 0..12 the weeks, 13 later
    start: date | None
    end: date | None
    amount: Decimal = ZERO
    count: int = 0


@dataclass
class Forecast:
    today: date
    currency: str
    weeks: list[Week] = field(default_factory=list)
    overdue: Week | None = None
    later: Week | None = None
    org_late: Decimal = ZERO
    rates: dict[str, Decimal] | None = None  # in base: each currency's rate of `today`

    @property
    def total_13_weeks(self) -> Decimal:
        return sum((w.amount for w in self.weeks), ZERO)


def _params(org, currency, today):
    """Parameters and the WITH clauses (invoices open and paid as of the day, reports.insights)."""
    return insights_params(org, currency, today)


# How a customer's lateness is summed up from its paid invoices (days late, 0 when early). The
# forecast uses the mean; reports.forecast_accuracy measures both against what came in.
LATENESS = {
    "mean": "avg(greatest(paid_on - due_date, 0))::numeric",
    "median": "(percentile_cont(0.5) WITHIN GROUP (ORDER BY greatest(paid_on - due_date, 0)))::numeric",
}
METHOD = "mean"


def _sql(ctes: str, select: str, method: str = METHOD) -> str:
    return FORECAST_SQL.format(ctes=ctes, days=WEEKS * 7, weeks=WEEKS, late=LATENESS[method]) + select


def forecast_in_base(org, today: date | None = None) -> Forecast:
    """The forecast of every currency, each week's amounts converted at the rates of the forecast's
    day (accounts.fx.report_rates, sum_in_base; MissingRate names the currency and day). Each
    currency keeps its own organization average for customers without history; `org_late` is the
    base currency's."""
    by_currency = {code: forecast(org, code, today) for code in org_currencies(org)}
    result = by_currency[org.base_currency]
    rates = fx.report_rates(org, by_currency, result.today)
    base = org.base_currency

    def merged(pick) -> Week:
        weeks = [pick(f) for f in by_currency.values()]
        first = weeks[0]
        return Week(first.index, first.start, first.end,
                    fx.sum_in_base({c: pick(f).amount for c, f in by_currency.items()}, rates, base),
                    sum(w.count for w in weeks))

    out = Forecast(today=result.today, currency=base, org_late=result.org_late, rates=rates)
    out.weeks = [merged(lambda f, i=i: f.weeks[i]) for i in range(WEEKS)]
    out.overdue, out.later = merged(lambda f: f.overdue), merged(lambda f: f.later)
    return out


def forecast(org, currency=None, today: date | None = None) -> Forecast:
    if currency == ALL:
        return forecast_in_base(org, today)
    params, ctes = _params(org, currency, today)
    today = params["today"]
    result = Forecast(today=today, currency=params["cur"])
    result.weeks = [Week(i, today + timedelta(days=7 * i), today + timedelta(days=7 * i + 6)) for i in range(WEEKS)]
    result.overdue, result.later = Week(OVERDUE, None, today - timedelta(days=1)), Week(LATER, today + timedelta(
        days=7 * WEEKS), None)
    with report_cursor() as cursor:
        cursor.execute(_sql(ctes, "SELECT week, sum(amount_due), count(*) FROM weeks GROUP BY week "
                            "UNION ALL SELECT -99, (SELECT late FROM org_late), 0"), params)
        for week, amount, count in cursor.fetchall():
            if week == -99:
                result.org_late = Decimal(amount).quantize(Decimal("0.1"))
            elif week == OVERDUE:
                result.overdue.amount, result.overdue.count = amount, count
            elif week == LATER:
                result.later.amount, result.later.count = amount, count
            else:
                result.weeks[week].amount, result.weeks[week].count = amount, count
    return result


@dataclass
class ExpectedInvoice:
    invoice_id: int
    number: str
    customer_id: int
    customer_name: str
    due_date: date
    expected_on: date
    shift: int
    org_average: bool
    amount: Decimal
    currency: str = ""  # set in the drill-down in base, where currencies mix
    base_amount: Decimal | None = None  # the amount at the forecast day's rate, rounded once


def week_invoices(org, week: int, currency=None, today: date | None = None, limit: int = 500):
    """The invoices behind one week of the forecast (largest first)."""
    params, ctes = _params(org, currency, today)
    params.update(week=week, limit=limit)
    with report_cursor() as cursor:
        cursor.execute(_sql(ctes, """
            SELECT w.id, i.number, w.customer_id, c.name, w.due_date, w.expected_on, w.shift, w.org_average,
                   w.amount_due, count(*) OVER ()
            FROM weeks w JOIN invoicing_invoice i ON i.id = w.id JOIN accounts_customer c ON c.id = w.customer_id
            WHERE w.week = %(week)s ORDER BY w.amount_due DESC, w.expected_on, w.id LIMIT %(limit)s"""), params)
        raw = cursor.fetchall()
    return [ExpectedInvoice(*r[:9]) for r in raw], (raw[0][9] if raw else 0)


def week_invoices_in_base(org, week: int, today: date | None = None, limit: int = 500):
    """The invoices behind one week of the forecast in base (forecast_in_base): every currency's, each
    with its amount in the base currency at the rates of the forecast's day (as the week's total is
    converted: accounts.fx.report_rates; MissingRate names the currency and day), largest in base first.
    Returns (invoices, their count, the rates)."""
    today = today or today_in(org)
    currencies = org_currencies(org)
    rates = fx.report_rates(org, currencies, today)
    base, rows, count = org.base_currency, [], 0
    for code in currencies:
        found, n = week_invoices(org, week, code, today, limit)
        count += n
        for e in found:
            e.currency, e.base_amount = code, round_money(e.amount * rates[code], base)
        rows += found
    rows.sort(key=lambda e: (-e.base_amount, e.expected_on, e.invoice_id))
    return rows[:limit], count, rates
