"""The dashboard's figures as of the end of a past day D, in one statement (issue 20 item 1).

By the one as-of definition (reports.asof), read the way the aging's summary path reads it:

* an invoice whose item span (reports.models.ItemSpan) ended on or before D is open at D by exactly
  what it owes today, and one issued after D was nothing yet, so today's per-customer summary rows
  (reports_customeropen) with an invoice date on or before D hold every such invoice;
* the invoices whose span straddles D (`moving`: something dated after D changed them) are
  corrected row by row: minus what the summary holds for them, plus their exact amount as of D. Both
  halves read index columns only (no invoice row is fetched): the exact amount from the invoice's
  covering index (rep_invoice_id_cover) and its allocations', what the summary holds from one pass over
  the open-invoice index (rep_invoice_open_due: open now and dated on or before D, as the summary rows);
* unapplied payments and credit notes come from the as-of definition directly (a few per cent of
  them, read through partial indexes).

The cost is the organization's open invoices (summary rows, an index range) plus the items that
moved after D, instead of evaluating every open invoice as of D four times over (3.7 s at a million
invoices). The outputs share the CTEs, so everything is evaluated once:

* 'due': open invoices per due date (amount, count) — the buckets, overdue and due soon;
* 'unapplied': unapplied payments and credit notes (amount, count);
* 'top': the ten largest customer balances (net of unapplied) with their overdue part;
* 'soon': the ten invoices due within the week after D, as the live page orders them;
* 'disputed': the part of open invoices in dispute at the end of D (the hold's history,
  invoice_sql.disputed_part_as_of), on the invoices that ever had a hold change by then.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from invoicing import invoice_sql
from reports.asof import FAST_UNAPPLIED, INVOICE_EXACT, INVOICE_JOINS, INVOICE_JOINS_MANY, MOVING, ZERO, report_cursor

OPEN_NOW = invoice_sql.is_open("i")

PAST_SQL = f"""
WITH {MOVING},
moved AS (
    SELECT i.id, i.customer_id, i.due_date, {INVOICE_EXACT} AS exact
    FROM moving m JOIN invoicing_invoice i ON i.id = m.item_id {INVOICE_JOINS_MANY}
    WHERE m.kind = 'i' AND i.currency = %(cur)s
),
held_now AS MATERIALIZED (
    SELECT i.id, i.amount_due FROM invoicing_invoice i
    WHERE i.organization_id = %(org)s AND {OPEN_NOW} AND i.currency = %(cur)s AND i.issue_date <= %(d)s
),
shifted AS MATERIALIZED (
    SELECT mv.id, mv.customer_id, mv.due_date, mv.exact, coalesce(h.amount_due, 0) AS now
    FROM moved mv LEFT JOIN held_now h ON h.id = mv.id
),
open_rows AS MATERIALIZED (
    SELECT r.customer_id, r.due_date, r.amount, r.count FROM reports_customeropen r
    WHERE r.organization_id = %(org)s AND r.currency = %(cur)s AND r.issue_date <= %(d)s
    UNION ALL
    SELECT s.customer_id, s.due_date, s.exact - s.now, (s.exact <> 0)::int - (s.now <> 0)::int
    FROM shifted s WHERE s.exact <> s.now
),
unapplied AS MATERIALIZED (
    SELECT u.customer_id, u.amount FROM ({FAST_UNAPPLIED}) u WHERE u.currency = %(cur)s AND u.amount <> 0
),
held AS (
    SELECT DISTINCT h.invoice_id FROM invoicing_disputeholdchange h
    WHERE h.organization_id = %(org)s AND (h.at AT TIME ZONE %(tz)s)::date <= %(d)s
),
held_open AS (
    SELECT i.id, i.organization_id, {INVOICE_EXACT} AS amount
    FROM held JOIN invoicing_invoice i ON i.id = held.invoice_id {INVOICE_JOINS}
    WHERE i.organization_id = %(org)s AND i.currency = %(cur)s AND i.status <> 'draft'
)
SELECT 'due', NULL::bigint, o.due_date, sum(o.amount), sum(o.count)::numeric FROM open_rows o
GROUP BY o.due_date HAVING sum(o.count) <> 0 OR sum(o.amount) <> 0
UNION ALL
SELECT 'unapplied', NULL, NULL, coalesce(sum(u.amount), 0), count(*) FROM unapplied u
UNION ALL (
    SELECT 'top', c.customer_id, NULL, c.net, c.overdue FROM (
        SELECT x.customer_id, sum(x.amount) AS net,
               coalesce(sum(x.amount) FILTER (WHERE x.due_date < %(d)s), 0) AS overdue
        FROM (SELECT o.customer_id, o.due_date, o.amount FROM open_rows o
              UNION ALL SELECT u.customer_id, NULL, -u.amount FROM unapplied u) x
        GROUP BY x.customer_id) c
    WHERE c.net > 0 ORDER BY c.net DESC, c.customer_id LIMIT 10)
UNION ALL (
    SELECT 'soon', s.id, s.due_date, s.amount, NULL FROM (
        SELECT i.id, i.due_date, i.amount_due AS amount FROM invoicing_invoice i
        WHERE i.organization_id = %(org)s AND {OPEN_NOW} AND i.currency = %(cur)s AND i.issue_date <= %(d)s
          AND i.due_date >= %(d)s AND i.due_date <= %(soon)s
          AND NOT EXISTS (SELECT 1 FROM moving m WHERE m.kind = 'i' AND m.item_id = i.id)
        UNION ALL
        SELECT sh.id, sh.due_date, sh.exact FROM shifted sh
        WHERE sh.exact <> 0 AND sh.due_date >= %(d)s AND sh.due_date <= %(soon)s) s
    ORDER BY s.due_date, s.amount DESC, s.id LIMIT 10)
UNION ALL
SELECT 'disputed', NULL, NULL, coalesce(sum(p.part), 0), count(*) FILTER (WHERE p.part > 0) FROM (
    SELECT {invoice_sql.disputed_part_as_of("i", "i.amount")} AS part FROM held_open i WHERE i.amount > 0) p
"""  # noqa: S608 - built from constants only


@dataclass
class PastFigures:
    due_rows: list = field(default_factory=list)  # (due date, amount, count) of invoices open then
    unapplied: Decimal = ZERO
    top: list = field(default_factory=list)  # (customer id, balance, overdue), largest first
    soon: list = field(default_factory=list)  # (invoice id, amount open then), in the page's order
    disputed: Decimal = ZERO
    disputed_count: int = 0


def past_figures(org, currency: str, as_of: date) -> PastFigures:
    params = {"org": org.pk, "d": as_of, "cur": currency, "soon": as_of + timedelta(days=7), "tz": org.timezone}
    out = PastFigures()
    with report_cursor() as cursor:
        cursor.execute(PAST_SQL, params)
        rows = cursor.fetchall()
    for tag, key, day, amount, n in rows:  # n: a count, or the overdue part of a 'top' row
        if tag == "due":
            out.due_rows.append((day, amount, int(n)))
        elif tag == "unapplied":
            out.unapplied = amount
        elif tag == "top":
            out.top.append((key, amount, n))
        elif tag == "soon":
            out.soon.append((key, amount))
        else:
            out.disputed, out.disputed_count = amount, int(n)
    return out
