"""Payment behaviour: who pays on time and who pays late.

Per customer, over the invoices it settled in the last 12 months, as it stood at the end of a day
(today by default; issue 20: any past day, from the rows effective by then, reports.asof):

* an invoice counts as paid when it is issued, nothing is due on it any more, payments (not
  only credit notes) went into it and nothing of it was written off; the day it was paid is the
  last day anything moved its open amount (its item span's last day: the final allocation);
* days to pay = paid day − invoice date; days late = paid day − due date, counted as 0 when paid
  on or before the due date (so early payers do not hide late ones); on time = paid by the due date;
* averages are per invoice (each invoice weighs the same, whatever its amount);
* trend: the average days late per month of payment, and the last 3 months against the 9 before;
* overdue: what was open at the end of the day past its due date (the one as-of definition), and the
  oldest of it in days.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from accounts.models_org import today_in
from reports.asof import INVOICE_EXACT, INVOICE_JOINS_MANY, ZERO, items_cte, report_cursor

WINDOW_DAYS = 365
RECENT_DAYS = 90
SORTS = {"name": "lower(c.name)", "code": "lower(c.code)", "paid": "s.paid", "days_to_pay": "s.days_to_pay",
         "days_late": "s.days_late", "on_time": "s.on_time_share", "overdue": "o.overdue",
         "oldest": "o.oldest_days", "trend": "s.trend"}

# Paid as of the day %(d)s (the window's last day). An invoice whose item span ended on or before
# the day is in the state it is in today: paid if reports_paidinvoice holds it (paid day = the
# span's last day). One whose span straddles the day is evaluated from its rows as of the day: paid
# when, by then, it was issued and not voided, nothing was open, nothing written off, and payments
# (not only credit notes) went into it; its paid day is the last day anything moved it by then.
PAID_CTE = """
paid AS (
    SELECT customer_id, issue_date, due_date, paid_on FROM reports_paidinvoice
    WHERE organization_id = %(org)s AND currency = %(cur)s AND paid_on > %(since)s AND paid_on <= %(d)s
      {paid_filter}
    UNION ALL
    SELECT i.customer_id, i.issue_date, i.due_date, x.paid_on
    FROM reports_itemspan s JOIN invoicing_invoice i ON i.id = s.item_id """ + INVOICE_JOINS_MANY + """
    CROSS JOIN LATERAL (SELECT greatest(i.issue_date, max(a.effective_date)) AS paid_on,
                               coalesce(sum(a.amount) FILTER (WHERE a.payment_id IS NOT NULL), 0) AS by_payments
                        FROM payments_allocation a WHERE a.invoice_id = i.id AND a.effective_date <= %(d)s) x
    WHERE s.organization_id = %(org)s AND s.kind = 'i' AND s.first_day <= %(d)s AND s.last_day > %(d)s
      AND i.currency = %(cur)s {invoice_filter}
      AND i.issue_date <= %(d)s AND NOT coalesce(v.effective_date <= %(d)s, false)
      AND (""" + INVOICE_EXACT + """) = 0 AND iw.amount = 0 AND x.by_payments > 0 AND x.paid_on > %(since)s
)
"""  # noqa: S608 - built from constants only
STATS_CTE = """
stats AS (
    SELECT customer_id, count(*) AS paid,
           avg(paid_on - issue_date) AS days_to_pay,
           avg(greatest(paid_on - due_date, 0)) AS days_late,
           avg(CASE WHEN paid_on <= due_date THEN 1.0 ELSE 0.0 END) AS on_time_share,
           avg(greatest(paid_on - due_date, 0)) FILTER (WHERE paid_on > %(recent)s)
             - avg(greatest(paid_on - due_date, 0)) FILTER (WHERE paid_on <= %(recent)s) AS trend
    FROM paid GROUP BY customer_id
),
overdue AS (
    SELECT customer_id, sum(amount) AS overdue, count(*) AS overdue_count, %(d)s - min(due_date) AS oldest_days
    FROM items WHERE kind = 'i' AND amount > 0 AND due_date < %(d)s AND currency = %(cur)s
    GROUP BY customer_id
)
"""  # noqa: S608 - built from constants only


@dataclass
class Behaviour:
    customer_id: int
    name: str
    code: str
    paid: int
    days_to_pay: Decimal | None
    days_late: Decimal | None
    on_time_share: Decimal | None  # 0..1
    trend: Decimal | None  # recent minus earlier average days late; positive = getting later
    overdue: Decimal
    overdue_count: int
    oldest_days: int | None
    months: list = field(default_factory=list)  # (month start, average days late or None), oldest first

    @property
    def on_time_percent(self) -> Decimal | None:
        return None if self.on_time_share is None else (self.on_time_share * 100).quantize(Decimal(1), ROUND_HALF_UP)

    @property
    def trend_word(self) -> str:
        if self.trend is None:
            return ""
        if self.trend > 3:
            return "worse"
        if self.trend < -3:
            return "better"
        return "steady"


def _one(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.1"), ROUND_HALF_UP)


def query_params(org, currency, today, customer_ids=None):
    """The query's parameters and its WITH clauses (items as of the day, paid invoices): the whole
    organization, or (customer_ids) those customers."""
    today = today or today_in(org)
    cte, params = items_cte(org.pk, today, customer_ids)
    params.update({"cur": currency or org.base_currency, "today": today,
                   "since": today - timedelta(days=WINDOW_DAYS), "recent": today - timedelta(days=RECENT_DAYS)})
    if customer_ids is None:
        return params, cte + ", " + PAID_CTE.format(paid_filter="", invoice_filter="")
    return params, cte + ", " + PAID_CTE.format(paid_filter="AND customer_id = ANY(%(customers)s)",
                                                invoice_filter="AND i.customer_id = ANY(%(customers)s)")


def behaviour_report(org, currency=None, today: date | None = None, *, sort: str = "-days_late", page: int = 1,
                     page_size: int | None = 50, customer_ids=None) -> tuple[list[Behaviour], int]:
    """(rows of the page, number of customers with any paid or overdue invoice)."""
    params, ctes = query_params(org, currency, today, customer_ids)
    key = sort.lstrip("-")
    order = SORTS.get(key, SORTS["days_late"])
    direction = "DESC" if sort.startswith("-") or key not in SORTS else "ASC"
    nulls = "NULLS LAST"
    limit = ""
    if page_size:
        limit = "LIMIT %(limit)s OFFSET %(offset)s"
        params["limit"], params["offset"] = page_size, (max(page, 1) - 1) * page_size
    sql = ("WITH " + ctes + ", " + STATS_CTE + f"""
        SELECT c.id, c.name, c.code, coalesce(s.paid, 0), s.days_to_pay, s.days_late, s.on_time_share, s.trend,
               coalesce(o.overdue, 0), coalesce(o.overdue_count, 0), o.oldest_days, count(*) OVER ()
        FROM stats s FULL JOIN overdue o ON o.customer_id = s.customer_id
        JOIN accounts_customer c ON c.id = coalesce(s.customer_id, o.customer_id)
        ORDER BY {order} {direction} {nulls}, lower(c.name), c.id {limit}
    """)  # noqa: S608 - the ORDER BY comes from the SORTS whitelist
    with report_cursor() as cursor:
        cursor.execute(sql, params)
        raw = cursor.fetchall()
    rows = [Behaviour(r[0], r[1], r[2], r[3], _one(r[4]), _one(r[5]), r[6], _one(r[7]), r[8], r[9], r[10])
            for r in raw]
    return rows, (raw[0][11] if raw else 0)


MONTHS_SQL = """
WITH {ctes}
SELECT customer_id, date_trunc('month', paid_on)::date, avg(greatest(paid_on - due_date, 0)), count(*)
FROM paid GROUP BY 1, 2
"""


def add_months(org, rows: list[Behaviour], currency=None, today: date | None = None) -> None:
    """Fill each row's 12-month trend (average days late per month of payment)."""
    if not rows:
        return
    params, ctes = query_params(org, currency, today, [r.customer_id for r in rows])
    with report_cursor() as cursor:
        cursor.execute(MONTHS_SQL.format(ctes=ctes), params)
        found = {(c, m): Decimal(v).quantize(Decimal("0.1"), ROUND_HALF_UP) for c, m, v, _n in cursor.fetchall()}
    today = params["today"]
    months = []
    y, m = today.year, today.month
    for _ in range(12):
        months.append(date(y, m, 1))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    months.reverse()
    for row in rows:
        row.months = [(month, found.get((row.customer_id, month))) for month in months]


def customer_behaviour(customer, today: date | None = None) -> Behaviour:
    rows, _n = behaviour_report(customer.organization, customer.currency, today, customer_ids=[customer.pk],
                                page_size=None)
    row = rows[0] if rows else Behaviour(customer.pk, customer.name, customer.code, 0, None, None, None, None,
                                         ZERO, 0, None)
    add_months(customer.organization, [row], customer.currency, today)
    return row


def org_average_days_late(org, currency=None, today: date | None = None) -> Decimal:
    params, ctes = query_params(org, currency, today)
    with report_cursor() as cursor:
        cursor.execute("WITH " + ctes + " SELECT avg(greatest(paid_on - due_date, 0)) FROM paid", params)  # noqa: S608
        value = cursor.fetchone()[0]
    return _one(value) if value is not None else ZERO
