"""The aging report: what each customer owed as of a date, by age, reconciled to the AR control.

Rows are per customer (in one currency); columns are the organization's buckets, then the
unapplied payments and credits (a column of their own: they are part of the AR control, so
the totals reconcile), then the customer's net total. The totals row of all customers is
compared with the AR control account as of the same date; any difference is shown and flagged.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts import fx
from accounts.money import minor_units
from invoicing import invoice_sql
from reports import snapshots
from reports.asof import (
    FAST_UNAPPLIED_ITEMS,
    INVOICE_EXACT,
    INVOICE_JOINS,
    INVOICE_JOINS_MANY,
    ZERO,
    ar_control,
    items_cte,
    open_items,
    org_currencies,
    report_cursor,
)
from reports.models import AgingBasis, ReportSettings

PAGE_SIZE = 50
SORTS = {"name", "code", "total", "unapplied", "overdue", "open"}  # plus b0..bN


@dataclass(frozen=True)
class Bucket:
    index: int
    label: str
    low: int | None  # inclusive, in days of age; None = no lower limit
    high: int | None  # inclusive; None = no upper limit

    def contains(self, age: int) -> bool:
        return (self.low is None or age >= self.low) and (self.high is None or age <= self.high)


def make_buckets(limits: list[int], basis: str) -> list[Bucket]:
    """Due-date basis: current (not yet due), 1–30, 31–60, 61–90, over 90 (for limits 30,60,90).
    Invoice-date basis: 0–30, 31–60, 61–90, over 90."""
    buckets = []
    if basis == AgingBasis.DUE:
        buckets.append(Bucket(0, _("Current"), None, 0))
        low = 1
    else:
        low = None
    for limit in limits:
        start = 0 if low is None else low
        buckets.append(Bucket(len(buckets), f"{start}–{limit}", low, limit))
        low = limit + 1
    buckets.append(Bucket(len(buckets), _("Over %(n)s") % {"n": limits[-1]}, low, None))
    return buckets


def bucket_of(age: int, buckets: list[Bucket]) -> int:
    for bucket in buckets:
        if bucket.contains(age):
            return bucket.index
    return buckets[-1].index


def _bucket_sql(buckets: list[Bucket], age_sql: str) -> str:
    whens = " ".join(f"WHEN {age_sql} <= {b.high} THEN {b.index}" for b in buckets if b.high is not None)
    return f"CASE {whens} ELSE {buckets[-1].index} END"


@dataclass
class AgingRow:
    customer_id: int
    name: str
    code: str
    buckets: list[Decimal]
    unapplied: Decimal
    total: Decimal
    overdue: Decimal
    open_count: int


@dataclass
class AgingTotals:
    buckets: list[Decimal]
    unapplied: Decimal = ZERO
    total: Decimal = ZERO
    overdue: Decimal = ZERO
    customers: int = 0


@dataclass
class AgingReport:
    as_of: date
    basis: str
    currency: str
    buckets: list[Bucket]
    rows: list[AgingRow]
    row_count: int  # rows matching the filters
    filtered: AgingTotals  # totals of the rows matching the filters
    everything: AgingTotals  # totals of all customers: what the AR control is compared with
    control: Decimal
    filters_active: bool
    page: int = 1
    page_size: int = PAGE_SIZE
    sort: str = "name"
    in_base: bool = False  # issue 17: converted at `rates` (currency → base units per unit)
    rates: dict | None = None
    # In base: the totals row converted per currency and due date (today, the summary path) rather than
    # the sum of the rows (past days); the page states which.
    totals_per_due_date: bool = False

    @property
    def difference(self) -> Decimal:
        return self.everything.total - self.control

    @property
    def reconciles(self) -> bool:
        return self.difference == 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.row_count // self.page_size)) if self.page_size else 1


@dataclass
class AgingQuery:
    as_of: date
    currency: str
    basis: str = AgingBasis.DUE
    limits: list[int] = field(default_factory=lambda: [30, 60, 90])
    tag: str = ""
    search: str = ""  # part of the customer's name or code
    min_amount: Decimal | None = None
    only_overdue: bool = False
    sort: str = "name"  # a SORTS key or b<i>; "-" prefix for descending
    page: int = 1
    page_size: int | None = PAGE_SIZE  # None: every row (exports)
    # Issue 17: every currency converted to the base currency at the as-of date's rates
    # (currency stays the base currency). rates: filled by aging() from accounts.fx.
    in_base: bool = False
    rates: dict | None = None

    @property
    def filters_active(self) -> bool:
        return bool(self.tag or self.search or self.min_amount is not None or self.only_overdue)


def query_for(org, as_of: date, currency: str | None = None, **kwargs) -> AgingQuery:
    """An AgingQuery with the organization's bucket settings."""
    settings = ReportSettings.for_org(org)
    kwargs.setdefault("basis", settings.aging_basis)
    return AgingQuery(as_of=as_of, currency=currency or org.base_currency, limits=settings.limits, **kwargs)


# Amounts are summed as whole thousandths in bigint (numeric(18,3) scaled by 1,000 is an exact
# integer): PostgreSQL sums bigint in a 128-bit accumulator, cheaper than numeric aggregates over
# a quarter of a million rows, and just as exact. Python scales them back.
#
# Customers' names are joined only where needed: the page's 50 rows, or (sorting by name or
# code) an index walk of the customers in that order probing the hashed per-customer totals,
# which stops after the page; all customers only for a tag filter.
PER_SQL = """
CREATE TEMP TABLE reports_aging_per ON COMMIT DROP AS
WITH {items},
aged AS (
    SELECT it.customer_id, (it.amount * 1000)::bigint AS m, {n} AS n,
           CASE WHEN it.kind <> 'i' THEN -1 ELSE {bucket} END AS b,
           it.kind = 'i' AND it.due_date < %(d)s AS late
    FROM {items_in} it WHERE {items_where}
)
SELECT customer_id, {bucket_columns}, unapplied, {total} AS total, {overdue} AS overdue, open_count
FROM (
    SELECT customer_id, {bucket_sums}, coalesce(sum(m) FILTER (WHERE b = -1), 0) AS unapplied,
           {open_count} AS open_count {late_sum}
    FROM aged GROUP BY customer_id
) AS sums
"""
# Issue 17, the base currency as of any day: the open items grouped as the summary path groups them
# (see CONVERTED), each group converted at the day's rate and rounded once, so both paths give a
# customer the same row. (The totals row here is the sum of the rows; the summary path's is converted
# per currency and due date: the two may differ by rounding.)
ITEMS_IN_BASE = """(
    SELECT customer_id, kind, due_date, doc_date, round(sum(amount) * rate, %(fx_places)s) AS amount, count(*) AS n
    FROM (SELECT it.customer_id, it.currency, fx.rate, CASE WHEN it.kind = 'i' THEN 'i' ELSE 'u' END AS kind,
                 CASE WHEN it.kind = 'i' THEN it.due_date END AS due_date,
                 CASE WHEN it.kind = 'i' THEN it.doc_date END AS doc_date, it.amount
          FROM items it JOIN unnest(%(fx_cur)s::varchar[], %(fx_rate)s::numeric[]) AS fx(cur, rate)
            ON fx.cur = it.currency
          WHERE it.amount <> 0) x
    GROUP BY customer_id, currency, rate, kind, due_date, doc_date
)"""
# The per-customer rows go to a temporary table (dropped at commit): PostgreSQL then knows how
# many there are and joins the customers by hash instead of probing them one by one.
EVERYTHING_CTE = """everything AS (
    SELECT 'all'::text AS part, NULL::bigint AS customer_id, NULL::text AS name, NULL::text AS code,
           {sum_buckets}, sum(unapplied), sum(total), sum(overdue), count(*)
    FROM reports_aging_per
)"""
FILTERED_CTES = """matching AS (
    {matching}
),
filtered AS (
    SELECT 'filtered'::text, NULL::bigint, NULL::text, NULL::text, {sum_buckets}, sum(unapplied), sum(total),
           sum(overdue), count(*)
    FROM matching
)"""
# Tags are compared ignoring case and spaces: ", Key Account," matches the filter "key account".
TAG_MATCH = ("(',' || lower(replace(c.tags, ' ', '')) || ',') LIKE "
             "('%%,' || lower(replace(%(tag)s, ' ', '')) || ',%%')")
NAME_ORDER = {"name": "lower(c.name)", "code": "c.code"}


# --- Issue 23 item 2: today's aging from the maintained per-customer summary -------------------
#
# reports_customeropen holds, per customer, currency, due date and invoice date, what the open
# invoices owe *now* (amount due). As of a day D that is exact for every invoice whose item span
# ended on or before D; the invoices whose span ends after D (post-dated issues, allocations,
# write-offs, voids: a handful as of today) are corrected here row by row: minus what the summary
# holds for them, plus their exact amount as of D (asof.INVOICE_EXACT). Unapplied payments and
# credit notes are few (partial indexes) and come from the as-of definition as before. Both go to
# a small materialized CTE `adj` of signed adjustments ('i' rows: m = thousandths, n = open-count change;
# 'u' rows: one unapplied item). Exact for any D; cheap when few spans end after D, i.e. today.
ADJ = """adj AS MATERIALIZED (
    SELECT 'i'::text AS kind, customer_id, currency AS cur, due_date, issue_date,
           ((exact - now) * 1000)::bigint AS m, (exact <> 0)::int - (now <> 0)::int AS n
    FROM inv WHERE exact <> now
    UNION ALL
    SELECT 'u', it.customer_id, it.currency, NULL::date, NULL::date, (it.amount * 1000)::bigint, 1
    FROM items it WHERE it.amount <> 0 AND it.currency = %(cur)s
)"""
ADJ_CTES = f"""{FAST_UNAPPLIED_ITEMS},
late AS MATERIALIZED (
    SELECT s.item_id FROM reports_itemspan s
    WHERE s.organization_id = %(org)s AND s.last_day > %(d)s AND s.kind = 'i'
),
inv AS (
    SELECT i.customer_id, i.currency, i.due_date, i.issue_date, {INVOICE_EXACT} AS exact,
           CASE WHEN {invoice_sql.is_open("i")} THEN i.amount_due ELSE 0 END AS now
    FROM late l JOIN invoicing_invoice i ON i.id = l.item_id {INVOICE_JOINS_MANY}
    WHERE i.organization_id = %(org)s AND i.currency = %(cur)s
),
{ADJ}"""  # noqa: S608 - built from constants only
# As of a past day D from the period-end snapshot S <= D (reports.snapshots): the snapshot's rows hold
# every invoice's open amount as of S; an invoice with nothing dated in (S, D] is open by the same amount
# as of D (its amount only moves on its issue, void, allocation and write-off days), so only the invoices
# touched in (S, D] are adjusted: minus their amount as of S, plus their amount as of D, both by the one
# definition (asof.INVOICE_EXACT at each day).
EXACT_AT_S = f"(SELECT {INVOICE_EXACT} FROM invoicing_invoice i {INVOICE_JOINS} WHERE i.id = t.id)"  # noqa: S608
INVOICE_EXACT_AT_S = EXACT_AT_S.replace("%(d)s", "%(s)s")
SNAPSHOT_ADJ_CTES = f"""{FAST_UNAPPLIED_ITEMS},
touched AS MATERIALIZED (
    SELECT a.invoice_id AS id FROM payments_allocation a
    WHERE a.organization_id = %(org)s AND a.invoice_id IS NOT NULL AND a.effective_date > %(s)s
      AND a.effective_date <= %(d)s
    UNION
    SELECT w.invoice_id FROM invoicing_writeoff w
    WHERE w.organization_id = %(org)s AND w.effective_date > %(s)s AND w.effective_date <= %(d)s
    UNION
    SELECT i.id FROM invoicing_invoice i
    WHERE i.organization_id = %(org)s AND i.status <> 'draft' AND i.issue_date > %(s)s AND i.issue_date <= %(d)s
    UNION
    SELECT i.id FROM invoicing_invoice i JOIN accounts_journalentry v ON v.id = i.void_entry_id
    WHERE i.organization_id = %(org)s AND i.void_entry_id IS NOT NULL AND v.effective_date > %(s)s
      AND v.effective_date <= %(d)s
),
inv AS (
    SELECT i.customer_id, i.currency, i.due_date, i.issue_date, {INVOICE_EXACT} AS exact,
           {INVOICE_EXACT_AT_S} AS now
    FROM touched t JOIN invoicing_invoice i ON i.id = t.id {INVOICE_JOINS_MANY}
    WHERE i.organization_id = %(org)s AND i.currency = %(cur)s AND i.status <> 'draft'
),
{ADJ}"""  # noqa: S608 - built from constants only
# The summary's tables and their snapshot twins (the same columns, plus the snapshot's day).
SNAPSHOT_TABLES = {"reports_customeropen": "reports_snapshotopen", "reports_customertotal": "reports_snapshottotal",
                   "reports_openbyduedate": "reports_snapshotdates"}


def _on_snapshot(sql: str) -> str:
    """The summary path's statement reading the snapshot of day %(s)s instead of today's summary."""
    sql = sql.replace(ADJ_CTES, SNAPSHOT_ADJ_CTES)
    for table, twin in SNAPSHOT_TABLES.items():
        pattern = re.compile(table + r" (\w+)(\s+)WHERE (\w+)\.organization_id = %\(org\)s")
        sql = pattern.sub(lambda m, t=twin: f"{t} {m[1]}{m[2]}WHERE {m[3]}.organization_id = %(org)s "
                                            f"AND {m[3]}.day = %(s)s", sql)
        if table in sql:
            raise AssertionError(f"{table} left in a snapshot statement")
    return sql


# One customer's rows (LATERAL on c.id), or every customer's (with customer_id), or the
# organization's per-due-date rows (reports_openbyduedate, for the totals by due date).
SUMMARY_ROWS = """
    SELECT {cust}r.currency AS cur, r.due_date, r.issue_date, (r.amount * 1000)::bigint AS m, r.count AS n,
           'i'::text AS kind
    FROM reports_customeropen r WHERE r.organization_id = %(org)s AND r.currency = %(cur)s {where}
    UNION ALL
    SELECT {cust_a}a.cur, a.due_date, a.issue_date, a.m, a.n, a.kind FROM adj a {where_a}
"""
ORG_DUE_ROWS = """
    SELECT o.currency AS cur, o.due_date, NULL::date AS issue_date, (o.amount * 1000)::bigint AS m, o.count AS n,
           'i'::text AS kind
    FROM reports_openbyduedate o WHERE o.organization_id = %(org)s AND o.currency = %(cur)s
    UNION ALL
    SELECT a.cur, a.due_date, NULL::date, a.m, a.n, a.kind FROM adj a  -- by due date: one group per (currency, day)
"""
SUMMED = """
SELECT {cust}{bucket_columns}, unapplied, {total} AS total, {overdue} AS overdue, open_count, n FROM (
    SELECT {cust}{bucket_sums}, coalesce(sum(m) FILTER (WHERE b = -1), 0) AS unapplied,
           coalesce(sum(n) FILTER (WHERE b >= 0), 0) AS open_count,
           coalesce(sum(m) FILTER (WHERE b >= 0 AND due_date < %(d)s), 0) AS late, coalesce(sum(n), 0) AS n
    FROM (SELECT {cust}CASE WHEN kind = 'u' THEN -1 ELSE {bucket} END AS b, m, n, due_date
          FROM ({rows}) r) x {group}
) AS sums
"""
SUMMARY_PER_SQL = """
CREATE TEMP TABLE reports_aging_per ON COMMIT DROP AS
WITH {adj}
SELECT customer_id, {bucket_columns}, unapplied, total, overdue, open_count FROM ({summed}) per WHERE n > 0
"""
# Today's first pages by name or code without filters: an index walk of the customers in that order,
# each probed for its few summary rows, stopping after the page; the totals from the organization's
# per-due-date rows, the customer count from the summary's index (plus the adjusted customers).
SUMMARY_PAGE_SQL = """
WITH {adj},
everything AS (
    SELECT 'all'::text AS part, NULL::bigint AS customer_id, NULL::text AS name, NULL::text AS code,
           {t_buckets}, t.unapplied, t.total, t.overdue,
           (SELECT count(*) FROM reports_customertotal x
            WHERE x.organization_id = %(org)s AND x.currency = %(cur)s
              AND x.customer_id NOT IN (SELECT a.customer_id FROM adj a))  -- hashed: adj has no index
           + (SELECT count(*) FROM (
                  SELECT u.customer_id FROM (
                      SELECT a.customer_id, a.n FROM adj a
                      UNION ALL
                      SELECT r.customer_id, r.count FROM reports_customertotal r
                      WHERE r.organization_id = %(org)s AND r.currency = %(cur)s
                        AND r.customer_id IN (SELECT customer_id FROM adj)
                  ) u GROUP BY u.customer_id HAVING sum(u.n) > 0) ac)
    FROM ({org_totals}) t
),
{page}
SELECT * FROM everything UNION ALL SELECT * FROM page
"""
NAME_PAGE_CTE = """page AS (
    SELECT 'row'::text, c.id, c.name::text, c.code::text, {p_buckets}, p.unapplied, p.total, p.overdue, p.open_count
    FROM accounts_customer c CROSS JOIN LATERAL ({one_customer_c}) p
    WHERE c.organization_id = %(org)s AND p.n > 0
    ORDER BY {order} {limit}
)"""
# Today's pages sorted by total without filters: a customer without adjustments owes exactly its
# maintained total (reports_customertotal), so the page's customers are among the first
# offset + limit + (adjusted customers) of that table's index in the page's order, or adjusted ones;
# those candidates are computed exactly (as on the page by name) and the page taken from them.
TOTAL_PAGE_CTE = """adjusted AS MATERIALIZED (SELECT DISTINCT a.customer_id FROM adj a),
candidates AS (
    (SELECT t.customer_id FROM reports_customertotal t
     WHERE t.organization_id = %(org)s AND t.currency = %(cur)s
     ORDER BY t.amount {direction}, t.customer_id {direction}
     LIMIT %(limit)s + %(offset)s + (SELECT count(*) FROM adjusted))
    UNION
    SELECT customer_id FROM adjusted
),
page AS (
    SELECT 'row'::text, c.id, c.name::text, c.code::text, {p_buckets}, p.unapplied, p.total, p.overdue, p.open_count
    FROM ({candidates_summed}) p JOIN accounts_customer c ON c.id = p.customer_id AND c.organization_id = %(org)s
    WHERE p.n > 0
    ORDER BY p.total {direction}, c.id {direction} {limit}
)"""


# Issue 17: today's aging in the base currency from the same summaries, every currency at once
# (`= %(cur)s` becomes `= ANY(the rates' currencies)`). Rounding rule: each group is converted at the
# day's rate and rounded once to the base currency's minor unit (as the dashboard converts its
# per-(currency, due date) rows): a customer's row per currency, due date and invoice date of its open
# invoices and per currency of its unapplied items; the totals row per currency and due date (by
# invoice date: per currency, due date and invoice date) over all customers. So the rows need not add
# up to the totals to the cent; the page says so.
CONVERTED = """
    SELECT {cust}g.due_date, g.issue_date, (round(sum(g.m) * fx.rate / 1000, %(fx_places)s) * 1000)::bigint AS m,
           sum(g.n)::bigint AS n, g.kind
    FROM ({rows}) g JOIN unnest(%(fx_cur)s::varchar[], %(fx_rate)s::numeric[]) AS fx(cur, rate) ON fx.cur = g.cur
    GROUP BY {cust}g.cur, fx.rate, g.due_date, g.issue_date, g.kind
"""


def _converted(rows: str, cust: str, in_base: bool) -> str:
    return CONVERTED.format(rows=rows, cust=cust) if in_base else rows


def _base_everything_cte(buckets, basis) -> str:
    """The `everything` CTE of today's base view read from the organization's rows (per currency and
    due date, as on the first page), for the statements that build the per-customer table first
    (filters, exports, sorts other than by name): one totals row whatever the page."""
    org_rows = ORG_DUE_ROWS if basis == AgingBasis.DUE else SUMMARY_ROWS.format(cust="", where="", cust_a="",
                                                                               where_a="")
    t_buckets = ", ".join(f"t.b{b.index}" for b in buckets)
    return _every_currency(f"""{ADJ_CTES},
everything AS (
    SELECT 'all'::text AS part, NULL::bigint AS customer_id, NULL::text AS name, NULL::text AS code,
           {t_buckets}, t.unapplied, t.total, t.overdue, (SELECT count(*) FROM reports_aging_per)
    FROM ({_summed(buckets, basis, _converted(org_rows, "", True))}) t
)""")  # noqa: S608 - built from constants only


def _every_currency(sql: str) -> str:
    """A summary statement over every currency with a rate (the base view) instead of %(cur)s."""
    sql = sql.replace("SELECT count(*) FROM reports_customertotal x", "SELECT count(DISTINCT x.customer_id) "
                      "FROM reports_customertotal x")  # a customer may owe in several currencies
    return sql.replace("= %(cur)s", "= ANY(%(fx_cur)s::varchar[])")


# How far past a snapshot the aging still starts from it (each day further adds that day's movements;
# the items path costs the same whatever the day).
SNAPSHOT_REACH_DAYS = 92


def default_source(org, q: "AgingQuery") -> str:
    """"summary" for today (and later), in one currency or in the base currency (see CONVERTED);
    "snapshot" for a past day in one currency within SNAPSHOT_REACH_DAYS after a period-end snapshot
    (reports.snapshots); "items" (the as-of path) for other past days, in the base currency too."""
    if q.as_of >= org.today():
        return "summary"
    if q.in_base:
        return "items"
    taken = snapshots.latest(org, q.as_of)
    if taken is not None and (q.as_of - taken).days <= SNAPSHOT_REACH_DAYS:
        return "snapshot"
    return "items"


def _summed(buckets, basis, rows, *, cust="", group="") -> str:
    age_sql = "(%(d)s - r.due_date)" if basis == AgingBasis.DUE else "(%(d)s - r.issue_date)"
    by_due = basis == AgingBasis.DUE
    return SUMMED.format(
        cust=cust, rows=rows, group=group, bucket=_bucket_sql(buckets, age_sql),
        bucket_columns=", ".join(f"b{b.index}" for b in buckets),
        bucket_sums=", ".join(f"coalesce(sum(m) FILTER (WHERE b = {b.index}), 0) AS b{b.index}" for b in buckets),
        total=" + ".join(f"b{b.index}" for b in buckets) + " - unapplied",
        overdue=" + ".join(f"b{b.index}" for b in buckets[1:]) if by_due else "late")


def _one_customer(buckets, basis, ref: str, in_base: bool = False) -> str:
    rows = SUMMARY_ROWS.format(cust="", where=f"AND r.customer_id = {ref}", cust_a="",
                               where_a=f"WHERE a.customer_id = {ref}")
    return _summed(buckets, basis, _converted(rows, "", in_base))


def _summary_per_sql(buckets, basis, in_base: bool = False) -> str:
    rows = SUMMARY_ROWS.format(cust="r.customer_id, ", where="", cust_a="a.customer_id, ", where_a="")
    summed = _summed(buckets, basis, _converted(rows, "customer_id, ", in_base), cust="customer_id, ",
                     group="GROUP BY customer_id")
    sql = SUMMARY_PER_SQL.format(adj=ADJ_CTES, summed=summed, bucket_columns=", ".join(f"b{b.index}" for b in buckets))
    return _every_currency(sql) if in_base else sql


def _summary_page_sql(buckets, basis, limit: str, *, order: str = "", direction: str = "",
                      in_base: bool = False) -> str:
    """Today's page by name or code (`order`), or by total (`direction`, LIMIT required; not in base:
    it walks the per-currency totals)."""
    if basis == AgingBasis.DUE:
        org_rows = ORG_DUE_ROWS
    else:  # by invoice date the organization's rows are the customers' rows (no per-org table by it)
        org_rows = SUMMARY_ROWS.format(cust="", where="", cust_a="", where_a="")
    org_rows = _converted(org_rows, "", in_base)
    p_buckets = ", ".join(f"p.b{b.index}" for b in buckets)
    one_customer_c = _one_customer(buckets, basis, "c.id", in_base)
    if order:
        page = NAME_PAGE_CTE.format(p_buckets=p_buckets, one_customer_c=one_customer_c, order=order, limit=limit)
    else:
        # The candidates' rows summed in one grouped pass (a probe of `adj` per candidate would scan it each time).
        rows = SUMMARY_ROWS.format(cust="r.customer_id, ", cust_a="a.customer_id, ", where_a="",
                                   where="AND r.customer_id IN (SELECT customer_id FROM candidates)")
        summed = _summed(buckets, basis, rows, cust="customer_id, ", group="GROUP BY customer_id")
        page = TOTAL_PAGE_CTE.format(p_buckets=p_buckets, candidates_summed=summed, direction=direction, limit=limit)
    sql = SUMMARY_PAGE_SQL.format(
        adj=ADJ_CTES, t_buckets=", ".join(f"t.b{b.index}" for b in buckets),
        org_totals=_summed(buckets, basis, org_rows), page=page)
    return _every_currency(sql) if in_base else sql


def _like(text: str) -> str:
    """Text for a LIKE pattern, its wildcards taken literally."""
    return text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _thousandths(value) -> Decimal:
    return Decimal(value or 0).scaleb(-3)


def _sort_key(sort: str, n_buckets: int) -> str:
    """The requested sort if it is one we offer, else by name."""
    key = (sort or "").lstrip("-")
    if key not in SORTS | {f"b{i}" for i in range(n_buckets)}:
        return "name"
    return sort


def aging(org, q: AgingQuery, source: str | None = None) -> AgingReport:
    """The report; `source` "summary" (maintained per-customer rows, see above), "snapshot" (the latest
    period-end snapshot on or before the day plus what moved since) or "items" (the as-of definition over
    every open item); by default default_source(). All give the same report; in the base currency the same
    customer rows, while the totals row is converted per currency and due date on the summary path and is
    the sum of the rows on the items path (past days): the two may differ by rounding (see CONVERTED)."""
    path = source or default_source(org, q)
    from_summary = path in ("summary", "snapshot")
    if path == "snapshot" and q.in_base:
        raise ValueError("the snapshot path is per currency; past days in the base currency use the items path")
    on = (lambda sql: sql)  # noqa: E731
    taken = None
    if path == "snapshot":
        taken = snapshots.latest(org, q.as_of)
        if taken is None:
            raise ValueError(f"no snapshot on or before {q.as_of.isoformat()}")
        on = _on_snapshot
    buckets = make_buckets(q.limits, q.basis)
    age_sql = "(%(d)s - it.due_date)" if q.basis == AgingBasis.DUE else "(%(d)s - it.doc_date)"
    items, params = items_cte(org.pk, q.as_of)
    params["cur"] = q.currency
    params["s"] = taken
    if q.in_base:
        # Each group at the as-of date's rate, rounded once to the base currency's minor unit
        # (round() in PostgreSQL is half away from zero, as accounts.money.round_money).
        if q.rates is None:
            q.rates = base_rates(org, q.as_of)
        params["fx_cur"], params["fx_rate"] = list(q.rates), [q.rates[c] for c in q.rates]
        params["fx_places"] = minor_units(org.base_currency)
        items_in, items_where, n_sql, open_count = ITEMS_IN_BASE, "true", "it.n", "sum(n) FILTER (WHERE b >= 0)"
    else:
        items_in, items_where, n_sql = "items", "it.amount <> 0 AND it.currency = %(cur)s", "1"
        open_count = "count(*) FILTER (WHERE b >= 0)"
    filters = ["true"]
    customer_filters = []
    if q.tag:
        params["tag"] = _like(q.tag)
        customer_filters.append(TAG_MATCH)
    if q.search:
        params["search"] = "%" + _like(q.search).lower() + "%"
        customer_filters.append("(lower(c.name) LIKE %(search)s OR lower(c.code) LIKE %(search)s)")
    if q.min_amount is not None:
        filters.append("per.total >= %(min)s")
        params["min"] = q.min_amount * 1000
    if q.only_overdue:
        filters.append("per.overdue > 0")
    # Every piece of SQL below is a constant or built from whitelisted names; values are parameters.
    where = " AND ".join(filters)
    if customer_filters:
        on_customer = " AND ".join(customer_filters)
        matching = ("SELECT per.* FROM reports_aging_per per JOIN accounts_customer c "  # noqa: S608
                    f"ON c.id = per.customer_id WHERE c.organization_id = %(org)s AND {on_customer} AND {where}")
    elif q.filters_active:
        matching = f"SELECT per.* FROM reports_aging_per per WHERE {where}"  # noqa: S608
    else:
        matching = ""  # without filters the page reads the table itself
    source = "matching" if q.filters_active else "reports_aging_per"
    sort = _sort_key(q.sort, len(buckets))
    key, desc = sort.lstrip("-"), sort.startswith("-")
    direction = "DESC" if desc else "ASC"
    limit = ""
    page = max(1, q.page)
    if q.page_size:
        limit = "LIMIT %(limit)s OFFSET %(offset)s"
        params["limit"], params["offset"] = q.page_size, (page - 1) * q.page_size
    plain = ", ".join(f"m.b{b.index}" for b in buckets)
    select = f"'row'::text, m.customer_id, c.name::text, c.code::text, {plain}, m.unapplied, m.total, m.overdue, " \
             "m.open_count"
    if key in NAME_ORDER:
        order = f"{NAME_ORDER[key]} {direction}, c.id {direction}"
        page_sql = (f"SELECT {select} FROM accounts_customer c JOIN {source} m ON m.customer_id = c.id "  # noqa: S608
                    f"WHERE c.organization_id = %(org)s ORDER BY {order} {limit}")
    else:
        column = {"open": "open_count"}.get(key, key)
        # Ties in the sorted column go by customer id in the same direction (one index serves both).
        inner = f"SELECT * FROM {source} ORDER BY {column} {direction}, customer_id {direction} {limit}"  # noqa: S608
        page_sql = (f"SELECT {select} FROM ({inner}) m JOIN accounts_customer c ON c.id = m.customer_id "  # noqa: S608
                    f"ORDER BY m.{column} {direction}, m.customer_id {direction}")
    # By due date, "overdue" is every bucket but the first; by invoice date it is summed apart.
    by_due = q.basis == AgingBasis.DUE
    per_sql = PER_SQL.format(
        items=items, items_in=items_in, items_where=items_where, n=n_sql, open_count=open_count,
        bucket=_bucket_sql(buckets, age_sql),
        bucket_sums=", ".join(f"coalesce(sum(m) FILTER (WHERE b = {b.index}), 0) AS b{b.index}"
                              for b in buckets),
        bucket_columns=", ".join(f"b{b.index}" for b in buckets),
        total=" + ".join(f"b{b.index}" for b in buckets) + " - unapplied",
        overdue=" + ".join(f"b{b.index}" for b in buckets[1:]) if by_due else "late",
        late_sum="" if by_due else ", coalesce(sum(m) FILTER (WHERE late), 0) AS late")
    sum_buckets = ", ".join(f"sum(b{b.index})" for b in buckets)
    ctes, parts = [EVERYTHING_CTE.format(sum_buckets=sum_buckets)], ["SELECT * FROM everything"]
    if from_summary and q.in_base:
        ctes = [_base_everything_cte(buckets, q.basis)]
    if q.filters_active:
        ctes.append(FILTERED_CTES.format(matching=matching, sum_buckets=sum_buckets))
        parts.append("SELECT * FROM filtered")
    ctes.append(f"page AS ({page_sql})")
    parts.append("SELECT * FROM page")
    report_sql = "WITH " + ",\n".join(ctes) + "\n" + " UNION ALL ".join(parts)
    n = len(buckets)
    with report_cursor() as cursor:
        if from_summary:
            if not q.filters_active and key in NAME_ORDER and q.page_size:
                # One statement: no temporary table (and none of its catalog locks) on today's page.
                # (Every row at once, for exports and bulk runs, is one aggregate of the summary below.)
                order = f"{NAME_ORDER[key]} {direction}, c.id {direction}"
                cursor.execute(on(_summary_page_sql(buckets, q.basis, limit, order=order, in_base=q.in_base)), params)
                raw = cursor.fetchall()
                per_sql = None
            elif not q.filters_active and key == "total" and q.page_size and not q.in_base:
                # One statement: a walk of the maintained per-customer totals (see TOTAL_PAGE_CTE).
                cursor.execute(on(_summary_page_sql(buckets, q.basis, limit, direction=direction)), params)
                raw = cursor.fetchall()
                per_sql = None
            else:
                per_sql = on(_summary_per_sql(buckets, q.basis, q.in_base))
        if per_sql is not None:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.reports_aging_per")
            cursor.execute(per_sql, params)
            cursor.execute("CREATE INDEX ON pg_temp.reports_aging_per (customer_id)")
            cursor.execute(report_sql, params)
            raw = cursor.fetchall()
            cursor.execute("DROP TABLE pg_temp.reports_aging_per")
    everything = filtered = None
    rows = []
    for r in raw:
        part, customer_id, name, code = r[:4]
        amounts = [_thousandths(v) for v in r[4:4 + n]]
        unapplied, total, overdue = _thousandths(r[4 + n]), _thousandths(r[5 + n]), _thousandths(r[6 + n])
        count = r[7 + n] or 0
        if part == "all":
            everything = AgingTotals(amounts, unapplied, total, overdue, count)
        elif part == "filtered":
            filtered = AgingTotals(amounts, unapplied, total, overdue, count)
        else:
            rows.append(AgingRow(customer_id, name, code, amounts, unapplied, total, overdue, count))
    if not q.filters_active:
        filtered = everything  # the same rows: not summed twice
    # In the base currency the figures are a conversion, not a ledger balance: the AR control is
    # reconciled in each currency's own view (the page says so).
    control = everything.total if q.in_base else ar_control(org, q.as_of, q.currency)
    return AgingReport(
        as_of=q.as_of, basis=q.basis, currency=q.currency, buckets=buckets, rows=rows,
        row_count=filtered.customers, filtered=filtered, everything=everything, control=control,
        filters_active=q.filters_active, page=page, page_size=q.page_size or 0, sort=sort,
        in_base=q.in_base, rates=q.rates if q.in_base else None, totals_per_due_date=from_summary and q.in_base,
    )


def base_rates(org, day: date) -> dict:
    """The rate of every currency the organization has receivables in, as of `day`; fx.MissingRate
    (naming the currency and the day) when one is missing."""
    return fx.report_rates(org, org_currencies(org), day)


def cell_items(org, customer_id: int, q: AgingQuery, bucket: int | None):
    """The items behind one cell: the customer's invoices open as of the date in that bucket,
    or (bucket None) its unapplied payments and credit notes."""
    buckets = make_buckets(q.limits, q.basis)
    found = []
    for item in open_items(org, q.as_of, [customer_id], currency=q.currency):
        if bucket is None:
            if item.kind != "i":
                found.append(item)
        elif item.kind == "i" and bucket_of(item.age(q.as_of, q.basis), buckets) == bucket:
            found.append(item)
    return found
