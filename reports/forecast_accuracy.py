"""Forecast accuracy (issue 20 item 7): what the cash-in forecast said against what came in.

For each of the last weeks, the forecast as it stood at the end of the day before the week (the
as-of definition: the invoices open then, each customer's lateness known then; reports.forecast)
expected some invoices to be paid in the week's 7 days: that is the *forecast*. *Came in* is what
payments actually settled on the invoices open then, by allocations effective in those 7 days
(payments, not credit notes; un-applications count negative). Error = came in − forecast, per week
and per customer over all the weeks; the mean absolute error (MAE) and the bias (mean error) sum it up.

Both ways of summing up a customer's lateness are measured side by side (reports.forecast.LATENESS:
the mean, which the forecast uses, and the median), so the page says which one would have been closer.
Past forecasts are recomputed from the rows effective then, not stored: the same method gives the same
figures whatever day it is run. New invoices issued during the week are not in that week's forecast and
so not in "came in" either.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from accounts.models_org import today_in
from reports.asof import ZERO, report_cursor, suffixed
from reports.forecast import LATENESS, METHOD
from reports.insights import query_params

WEEKS_BACK = 12

# One week's figures for both methods: the forecast's expected day by each way of summing up lateness
# (reports.forecast.LATENESS), then what came in on the invoices open on the forecast's day.
WEEK_SQL = """
WITH {ctes},
lateness AS (SELECT customer_id, {mean} AS mean, {median} AS median FROM paid GROUP BY customer_id),
org_late AS (SELECT coalesce({mean}, 0) AS mean, coalesce({median}, 0) AS median FROM paid),
expected AS (
    SELECT it.item_id AS id, it.customer_id, it.amount AS amount_due,
           it.due_date + round(coalesce(l.mean, o.mean))::int AS on_mean,
           it.due_date + round(coalesce(l.median, o.median))::int AS on_median
    FROM items it LEFT JOIN lateness l ON l.customer_id = it.customer_id CROSS JOIN org_late o
    WHERE it.kind = 'i' AND it.amount > 0 AND it.currency = %(cur)s
),
came AS (
    SELECT a.invoice_id, sum(a.amount) AS amount FROM payments_allocation a
    WHERE a.organization_id = %(org)s AND a.payment_id IS NOT NULL
      AND a.effective_date > %(today)s AND a.effective_date <= %(today)s + %(span)s::int
      AND a.invoice_id IN (SELECT id FROM expected)
    GROUP BY a.invoice_id
)
SELECT {week}::int, e.customer_id,
       coalesce(sum(e.amount_due) FILTER (WHERE e.on_mean > %(today)s
                                          AND e.on_mean <= %(today)s + %(span)s::int), 0),
       coalesce(sum(e.amount_due) FILTER (WHERE e.on_median > %(today)s
                                          AND e.on_median <= %(today)s + %(span)s::int), 0),
       coalesce(sum(c.amount), 0)
FROM expected e LEFT JOIN came c ON c.invoice_id = e.id
GROUP BY e.customer_id
"""  # noqa: S608 - built from constants only


def _week_sql(org, currency: str, made_on: date, week: int, span: int = 7) -> tuple[str, dict]:
    """Week `week`'s statement (the `span` days after `made_on`) with its parameters renamed `name_<week>`,
    so that the weeks can share one."""
    params, ctes = query_params(org, currency, made_on)
    params["span"] = span
    sql = WEEK_SQL.format(ctes=ctes, week=week, mean=LATENESS["mean"], median=LATENESS["median"])
    return suffixed(sql, params, week)


def weeks_figures(org, currency: str, days: list[date], span: int = 7) -> dict[int, dict[int, tuple]]:
    """{week index: {customer id: (forecast by the mean, forecast by the median, came in)}} for the forecasts
    made at the end of each of `days` (week index = position in `days`), in one statement: each week's
    as-of evaluation is a subquery of a UNION ALL."""
    if not days:
        return {}
    parts, params = [], {}
    for week, made_on in enumerate(days):
        sql, p = _week_sql(org, currency, made_on, week, span)
        parts.append(f"SELECT * FROM ({sql}) w{week}")  # noqa: S608 - constants and an int
        params.update(p)
    out: dict[int, dict[int, tuple]] = {week: {} for week in range(len(days))}
    with report_cursor() as cursor:
        cursor.execute("\nUNION ALL\n".join(parts), params)
        for week, cid, by_mean, by_median, came in cursor.fetchall():
            out[week][cid] = (by_mean, by_median, came)
    return out


@dataclass
class WeekResult:
    made_on: date  # the forecast as it stood at the end of this day
    start: date  # the week: start .. start + 6
    forecast: dict = field(default_factory=dict)  # method -> amount
    came_in: Decimal = ZERO

    def error(self, method: str) -> Decimal:
        return self.came_in - self.forecast[method]

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def errors(self) -> dict:
        return {method: self.error(method) for method in self.forecast}


@dataclass
class Accuracy:
    currency: str
    today: date
    weeks: list[WeekResult] = field(default_factory=list)
    customers: dict = field(default_factory=dict)  # customer id -> {method: Σ |error|}, "came_in", "forecast"
    methods: tuple = tuple(LATENESS)

    def mae(self, method: str) -> Decimal | None:
        if not self.weeks:
            return None
        total = sum((abs(w.error(method)) for w in self.weeks), ZERO)
        return (total / len(self.weeks)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def bias(self, method: str) -> Decimal | None:
        if not self.weeks:
            return None
        total = sum((w.error(method) for w in self.weeks), ZERO)
        return (total / len(self.weeks)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def best(self) -> str | None:
        """The method with the smaller mean absolute error (the mean on a tie), or None without weeks."""
        if not self.weeks:
            return None
        return min(self.methods, key=lambda m: (self.mae(m), m != "mean"))

    @property
    def improvement(self) -> Decimal | None:
        """How much smaller the best method's MAE is than the mean's, in percent (0 when the mean is best)."""
        mean = self.mae("mean")
        if not mean:
            return None
        return ((mean - self.mae(self.best)) * 100 / mean).quantize(Decimal("0.1"), ROUND_HALF_UP)


def accuracy(org, currency: str | None = None, today: date | None = None, weeks: int = WEEKS_BACK) -> Accuracy:
    """The last `weeks` whole weeks before today (each ends yesterday or earlier), newest first; weeks
    that start before the books do are left out by the caller (reports.dso.check_as_of). One query."""
    today = today or today_in(org)
    currency = currency or org.base_currency
    result = Accuracy(currency=currency, today=today)
    days = [today - timedelta(days=7 * k + 1) for k in range(1, weeks + 1)]
    figures = weeks_figures(org, currency, days)
    for index, made_on in enumerate(days):
        week = WeekResult(made_on=made_on, start=made_on + timedelta(days=1))
        week.forecast = {m: ZERO for m in result.methods}
        for cid, (by_mean, by_median, came) in figures[index].items():
            by_method = {"mean": by_mean, "median": by_median}
            week.came_in += came
            row = result.customers.setdefault(cid, {"came_in": ZERO, "forecast": {m: ZERO for m in result.methods},
                                                    "abs_error": {m: ZERO for m in result.methods}})
            row["came_in"] += came
            for method in result.methods:
                week.forecast[method] += by_method[method]
                row["forecast"][method] += by_method[method]
                row["abs_error"][method] += abs(came - by_method[method])
        result.weeks.append(week)
    return result


@dataclass
class PeriodForecast:
    """A period's forecast as it stood at the end of the day before it (by the forecast's own method),
    against what came in on the invoices it counted on (the AR summary's "collections vs forecast")."""
    start: date
    end: date
    forecast: Decimal
    came_in: Decimal

    @property
    def difference(self) -> Decimal:
        return self.came_in - self.forecast

    @property
    def made_on(self) -> date:
        return self.start - timedelta(days=1)


def period_forecast(org, currency: str, start: date, end: date) -> PeriodForecast:
    """The forecast made at the end of `start` − 1 for the days `start`..`end`, and what came in on it."""
    span = (end - start).days + 1
    figures = weeks_figures(org, currency, [start - timedelta(days=1)], span)[0]
    index = list(LATENESS).index(METHOD)
    return PeriodForecast(start, end, sum((f[index] for f in figures.values()), ZERO),
                          sum((f[2] for f in figures.values()), ZERO))
