"""Top changes of a period (the AR summary e-mail, issue 20 item 9): the customers whose balance rose or
fell the most between the end of the day before the period and the end of its last day.

A customer's balance as of a day is the one as-of definition (reports.asof): Σ open invoices − Σ unapplied
payments and credit notes, in one currency, which is the aging's total for that customer. Both days are
evaluated in one statement (each as-of evaluation a subquery with its own parameters).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from reports.asof import items_cte, report_cursor, suffixed

TOP = 5

BALANCES = """
SELECT customer_id, sum(CASE WHEN kind = 'i' THEN amount ELSE -amount END) AS balance
FROM (WITH {ctes} SELECT kind, customer_id, amount FROM items WHERE currency = %(cur)s AND amount <> 0) i
GROUP BY customer_id
"""
CHANGES_SQL = """
WITH balances AS MATERIALIZED (
    SELECT customer_id, sum(opening) AS opening, sum(closing) AS closing FROM (
        SELECT customer_id, balance AS opening, 0 AS closing FROM ({before}) b
        UNION ALL
        SELECT customer_id, 0, balance FROM ({after}) a
    ) u GROUP BY customer_id HAVING sum(opening) <> sum(closing)
),
ranked AS (
    (SELECT 'up' AS side, * FROM balances WHERE closing > opening
     ORDER BY closing - opening DESC, customer_id LIMIT %(top)s)
    UNION ALL
    (SELECT 'down', * FROM balances WHERE closing < opening ORDER BY closing - opening, customer_id LIMIT %(top)s)
)
SELECT r.side, r.customer_id, c.name, r.opening, r.closing
FROM ranked r JOIN accounts_customer c ON c.id = r.customer_id
"""  # noqa: S608 - built from constants only


@dataclass
class Change:
    customer_id: int
    name: str
    before: Decimal  # balance at the end of the day before the period
    after: Decimal  # balance at the end of the period's last day

    @property
    def change(self) -> Decimal:
        return self.after - self.before


@dataclass
class Changes:
    increases: list[Change]  # largest first
    decreases: list[Change]  # largest fall first


def _balances_sql(org, currency: str, day: date, tag: str) -> tuple[str, dict]:
    ctes, params = items_cte(org.pk, day)
    params["cur"] = currency
    return suffixed(BALANCES.format(ctes=ctes), params, tag)


def top_changes(org, currency: str, start: date, end: date, top: int = TOP) -> Changes:
    before_sql, params = _balances_sql(org, currency, start - timedelta(days=1), "before")
    after_sql, after_params = _balances_sql(org, currency, end, "after")
    params.update(after_params, top=top)
    with report_cursor() as cursor:
        cursor.execute(CHANGES_SQL.format(before=before_sql, after=after_sql), params)
        rows = cursor.fetchall()
    changes = Changes([], [])
    for side, cid, name, before, after in rows:
        (changes.increases if side == "up" else changes.decreases).append(Change(cid, name, before, after))
    changes.increases.sort(key=lambda c: (-c.change, c.customer_id))
    changes.decreases.sort(key=lambda c: (c.change, c.customer_id))
    return changes
