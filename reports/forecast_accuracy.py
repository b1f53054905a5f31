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
from reports.asof import ZERO, report_cursor
from reports.forecast import LATENESS, _sql
from reports.insights import query_params

WEEKS_BACK = 12

SELECT = """
, came AS (
    SELECT a.invoice_id, sum(a.amount) AS amount FROM payments_allocation a
    WHERE a.organization_id = %(org)s AND a.payment_id IS NOT NULL
      AND a.effective_date > %(today)s AND a.effective_date <= %(today)s + 7
      AND a.invoice_id IN (SELECT id FROM expected)
    GROUP BY a.invoice_id
)
SELECT e.customer_id,
       coalesce(sum(e.amount_due) FILTER (WHERE e.expected_on > %(today)s AND e.expected_on <= %(today)s + 7), 0),
       coalesce(sum(c.amount), 0)
FROM expected e LEFT JOIN came c ON c.invoice_id = e.id
GROUP BY e.customer_id
"""


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


def week_figures(org, currency: str, made_on: date, method: str) -> dict[int, tuple[Decimal, Decimal]]:
    """{customer id: (forecast for the 7 days after made_on, came in then)} by one method."""
    params, ctes = query_params(org, currency, made_on)
    with report_cursor() as cursor:
        cursor.execute(_sql(ctes, SELECT, method), params)
        return {cid: (forecast, came) for cid, forecast, came in cursor.fetchall()}


def accuracy(org, currency: str | None = None, today: date | None = None, weeks: int = WEEKS_BACK) -> Accuracy:
    """The last `weeks` whole weeks before today (each ends yesterday or earlier), newest first; weeks
    that start before the books do are left out by the caller (reports.dso.check_as_of)."""
    today = today or today_in(org)
    currency = currency or org.base_currency
    result = Accuracy(currency=currency, today=today)
    for k in range(1, weeks + 1):
        made_on = today - timedelta(days=7 * k + 1)
        week = WeekResult(made_on=made_on, start=made_on + timedelta(days=1))
        for method in result.methods:
            figures = week_figures(org, currency, made_on, method)
            week.forecast[method] = sum((f for f, _c in figures.values()), ZERO)
            week.came_in = sum((c for _f, c in figures.values()), ZERO)
            for cid, (forecast, came) in figures.items():
                row = result.customers.setdefault(cid, {"came_in": ZERO, "forecast": {m: ZERO for m in result.methods},
                                                        "abs_error": {m: ZERO for m in result.methods}})
                row["forecast"][method] += forecast
                row["abs_error"][method] += abs(came - forecast)
                if method == result.methods[0]:
                    row["came_in"] += came
        result.weeks.append(week)
    return result
