"""Credit control's list: who is over their credit limit or long overdue, and recent overrides.

The rule itself, the check on issuing and the override audit rows are invoicing's
(invoicing/credit_control.py, invoicing.models.CreditOverride); this is the read-only report.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from accounts.credit_terms import overdue_days
from accounts.models_org import today_in
from invoicing import invoice_sql
from invoicing.models import CreditOverride
from reports.asof import ZERO, report_cursor

# --- the list ----------------------------------------------------------------------------------

# The flagged customers: late beyond the cutoff, or over their credit limit. The page query and the
# export both start from it; the page adds the organization's totals as window aggregates over the
# same rows, so one statement gives a page of customers and the totals on top (no second scan).
FLAGGED_SQL = """
WITH late AS (
    SELECT customer_id, sum(amount_due) AS late_amount, %(today)s - min(due_date) AS oldest_days
    FROM invoicing_invoice
    WHERE organization_id = %(org)s AND """ + invoice_sql.is_overdue("", "%(cutoff)s") + """
      AND currency = %(cur)s
    GROUP BY customer_id
),
over AS (
    SELECT b.customer_id FROM accounts_customerbalance b JOIN accounts_customer c ON c.id = b.customer_id
    WHERE b.organization_id = %(org)s AND b.currency = %(cur)s AND c.credit_limit > 0 AND b.amount > c.credit_limit
),
flagged AS (
    SELECT c.id, c.name, c.code, c.credit_limit, coalesce(b.amount, 0) AS balance,
           coalesce(l.late_amount, 0) AS late_amount, l.oldest_days,
           greatest(coalesce(b.amount, 0) - CASE WHEN c.credit_limit > 0 THEN c.credit_limit
                    ELSE coalesce(b.amount, 0) END, 0) AS over_by
    FROM (SELECT customer_id FROM late UNION SELECT customer_id FROM over) AS f
    JOIN accounts_customer c ON c.id = f.customer_id AND c.organization_id = %(org)s
    LEFT JOIN accounts_customerbalance b ON b.organization_id = %(org)s AND b.customer_id = c.id
         AND b.currency = %(cur)s
    LEFT JOIN late l ON l.customer_id = c.id
    WHERE %(search)s = '' OR c.name ILIKE %(like)s OR c.code ILIKE %(like)s
)
"""  # noqa: S608 - built from constants only

# The sorts the page offers: key -> ORDER BY (each ends in the customer id, so pages never overlap).
# "-key" reverses the first column. All sort the flagged set in memory (it is computed, not indexed).
SORTS = {
    "over_by": ("over_by", "late_amount DESC, lower(name), id"),
    "late_amount": ("late_amount", "lower(name), id"),
    "balance": ("balance", "lower(name), id"),
    "oldest_days": ("oldest_days", "lower(name), id"),
    "name": ("lower(name)", "id"),
    "code": ("code", "id"),
}
DEFAULT_SORT = "-over_by"
PAGE_SIZE = 50

TOTALS_SQL = ("SELECT count(*), coalesce(sum(balance), 0), coalesce(sum(over_by), 0),"
              " coalesce(sum(late_amount), 0) FROM flagged")
COLUMNS = "id, name, code, credit_limit, balance, late_amount, oldest_days"


@dataclass
class ControlRow:
    customer_id: int
    name: str
    code: str
    credit_limit: Decimal
    balance: Decimal
    late_amount: Decimal
    oldest_days: int | None

    @property
    def over_by(self) -> Decimal:
        return max(self.balance - self.credit_limit, ZERO) if self.credit_limit else ZERO


@dataclass
class ControlTotals:
    customers: int = 0
    balance: Decimal = ZERO
    over_by: Decimal = ZERO
    late_amount: Decimal = ZERO


@dataclass
class ControlPage:
    rows: list
    totals: ControlTotals
    sort: str
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.totals.customers // self.page_size))


def _params(org, currency, days, today, search=""):
    today = today or today_in(org)
    days = days if days is not None else overdue_days(org)
    search = (search or "").strip()[:100]
    like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return {"org": org.pk, "cur": currency or org.base_currency, "today": today,
            "cutoff": today - timedelta(days=days), "search": search, "like": like}


def order_by(sort: str) -> str:
    key = sort.lstrip("-")
    first, rest = SORTS[key]
    direction = "DESC" if sort.startswith("-") else "ASC"
    return f"{first} {direction} NULLS LAST, {rest}"


def control_page(org, currency=None, days: int | None = None, today: date | None = None, *, sort=DEFAULT_SORT,
                 search="", page=1, page_size=PAGE_SIZE) -> ControlPage:
    """One page of flagged customers and the totals of all of them, from one statement."""
    if sort.lstrip("-") not in SORTS:
        sort = DEFAULT_SORT
    params = _params(org, currency, days, today, search)
    params.update(limit=page_size, offset=(page - 1) * page_size)
    # The ORDER BY comes from SORTS only (order_by refuses other keys).
    sql = (FLAGGED_SQL + f"SELECT {COLUMNS}, count(*) OVER (), sum(balance) OVER (), sum(over_by) OVER (),"  # noqa: S608
           f" sum(late_amount) OVER () FROM flagged ORDER BY {order_by(sort)} LIMIT %(limit)s OFFSET %(offset)s")  # noqa: S608
    with report_cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
        if fetched:
            totals = ControlTotals(*fetched[0][7:])
        else:  # past the last page (or nothing flagged): the totals alone
            cursor.execute(FLAGGED_SQL + TOTALS_SQL, params)
            totals = ControlTotals(*cursor.fetchone())
    return ControlPage([ControlRow(*row[:7]) for row in fetched], totals, sort, page, page_size)


def control_rows(org, currency=None, days: int | None = None, today: date | None = None, *, sort=DEFAULT_SORT,
                 search="", chunk=2000):
    """Every flagged customer, in page order, fetched in chunks (the export streams them)."""
    if sort.lstrip("-") not in SORTS:
        sort = DEFAULT_SORT
    params = _params(org, currency, days, today, search)
    with report_cursor() as cursor:
        cursor.execute(FLAGGED_SQL + f"SELECT {COLUMNS} FROM flagged ORDER BY {order_by(sort)}", params)  # noqa: S608
        while batch := cursor.fetchmany(chunk):
            yield from (ControlRow(*row) for row in batch)


def control_list(org, currency=None, days: int | None = None, today: date | None = None) -> list[ControlRow]:
    return list(control_rows(org, currency, days, today))


def recent_overrides(org, limit: int = 20):
    return CreditOverride.objects.filter(organization=org).select_related("customer", "approved_by", "invoice")[:limit]
