"""What was open on any date: the one definition every report uses.

As of a date D (all dates are effective dates, never wall-clock times):

* an invoice's open amount = its total if it was issued on or before D and not voided on or
  before D, minus its allocation rows (payments and credit notes, un-applications negative)
  effective on or before D, minus its write-offs effective on or before D;
* a payment's unapplied amount = its amount if received on or before D and not reversed on or
  before D, minus its allocation rows effective on or before D, minus its refunds on or before D;
* a credit note's unapplied amount = its total if issued on or before D, minus its allocation
  rows effective on or before D.

Then, per customer and currency, Σ open − Σ unapplied = the customer's AR balance as of D, and
over all customers = the AR control account as of D (every AR posting is one of those events).

Two evaluations of the same definition:

* `direct` — for a few customers (statements, drill-downs): the formula over all their items;
* `fast` — for a whole organization (aging, open items): an item whose span
  (reports.models.ItemSpan) ended on or before D has exactly its maintained amount open, read
  from partial covering indexes; only items whose span straddles D are summed row by row; items
  whose span starts after D are nothing yet. Both give the same rows (tests/reports prove it).
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction

from accounts.chart import system_account
from accounts.ledger import account_balance
from invoicing import invoice_sql

ZERO = Decimal("0")

# The exact amounts, as of %(d)s. The sums are LATERAL subqueries so that each is evaluated once
# per item (a subquery in the select list is evaluated again for every filter on its column).
INVOICE_EXACT = """
    (CASE WHEN i.issue_date <= %(d)s AND NOT coalesce(v.effective_date <= %(d)s, false) THEN i.total ELSE 0 END)
    - ia.amount - iw.amount
"""
INVOICE_JOINS = """
    LEFT JOIN accounts_journalentry v ON v.id = i.void_entry_id
    CROSS JOIN LATERAL (SELECT coalesce(sum(a.amount), 0) AS amount FROM payments_allocation a
                        WHERE a.invoice_id = i.id AND a.effective_date <= %(d)s) ia
    CROSS JOIN LATERAL (SELECT coalesce(sum(w.amount), 0) AS amount FROM invoicing_writeoff w
                        WHERE w.invoice_id = i.id AND w.effective_date <= %(d)s) iw
"""
# For many invoices at once: write-offs are few, so they are summed once and hashed.
INVOICE_JOINS_MANY = """
    LEFT JOIN accounts_journalentry v ON v.id = i.void_entry_id
    CROSS JOIN LATERAL (SELECT coalesce(sum(a.amount), 0) AS amount FROM payments_allocation a
                        WHERE a.invoice_id = i.id AND a.effective_date <= %(d)s) ia
    LEFT JOIN (SELECT w.invoice_id, sum(w.amount) AS amount FROM invoicing_writeoff w
               WHERE w.organization_id = %(org)s AND w.effective_date <= %(d)s GROUP BY w.invoice_id) iw0
        ON iw0.invoice_id = i.id
    CROSS JOIN LATERAL (SELECT coalesce(iw0.amount, 0) AS amount) iw
"""
PAYMENT_EXACT = """
    (CASE WHEN p.received_date <= %(d)s AND NOT coalesce(r.effective_date <= %(d)s, false) THEN p.amount ELSE 0 END)
    - pa.amount - pf.amount
"""
PAYMENT_JOINS = """
    LEFT JOIN accounts_journalentry r ON r.id = p.reversal_entry_id
    CROSS JOIN LATERAL (SELECT coalesce(sum(a.amount), 0) AS amount FROM payments_allocation a
                        WHERE a.payment_id = p.id AND a.effective_date <= %(d)s) pa
    CROSS JOIN LATERAL (SELECT coalesce(sum(f.amount), 0) AS amount FROM payments_refund f
                        WHERE f.payment_id = p.id AND f.refund_date <= %(d)s) pf
"""
CREDIT_EXACT = """
    (CASE WHEN c.issue_date <= %(d)s THEN c.total ELSE 0 END) - ca.amount
"""
CREDIT_JOINS = """
    CROSS JOIN LATERAL (SELECT coalesce(sum(a.amount), 0) AS amount FROM payments_allocation a
                        WHERE a.credit_note_id = c.id AND a.effective_date <= %(d)s) ca
"""
# Today's unapplied amount of a payment / credit note, written exactly as the partial indexes
# rep_payment_unapplied and rep_creditnote_unapplied are defined (migration 0006).
PAYMENT_NOW_PREDICATE = "(CASE WHEN p.reversal_entry_id IS NULL THEN p.amount ELSE 0 END) " \
                        "- p.amount_allocated - p.amount_refunded <> 0"
CREDIT_NOW_PREDICATE = "c.total - c.amount_applied <> 0"
PAYMENT_NOW = "(CASE WHEN p.reversal_entry_id IS NULL THEN p.amount ELSE 0 END) " \
              "- p.amount_allocated - p.amount_refunded"

# Columns of every items relation: kind, item_id, customer_id, currency, doc_date, due_date, amount.
MOVING = """
moving AS MATERIALIZED (
    SELECT s.kind, s.item_id FROM reports_itemspan s
    WHERE s.organization_id = %(org)s AND s.first_day <= %(d)s AND s.last_day > %(d)s
)"""
FAST_INVOICES = f"""
    SELECT 'i'::text AS kind, i.id AS item_id, i.customer_id, i.currency, i.issue_date AS doc_date, i.due_date,
           i.amount_due AS amount
    FROM invoicing_invoice i
    WHERE i.organization_id = %(org)s AND {invoice_sql.is_open("i")} AND i.issue_date <= %(d)s
      AND NOT EXISTS (SELECT 1 FROM moving m WHERE m.kind = 'i' AND m.item_id = i.id)
    UNION ALL
    SELECT 'i', i.id, i.customer_id, i.currency, i.issue_date, i.due_date, {INVOICE_EXACT}
    FROM moving m JOIN invoicing_invoice i ON i.id = m.item_id {INVOICE_JOINS_MANY}
    WHERE m.kind = 'i'
"""  # noqa: S608 - built from constants only
# Unapplied payments and credit notes: a few per cent of them, read from partial indexes.
FAST_UNAPPLIED = f"""
    SELECT 'p'::text AS kind, p.id AS item_id, p.customer_id, p.currency, p.received_date AS doc_date,
           NULL::date AS due_date, {PAYMENT_NOW} AS amount
    FROM payments_payment p
    WHERE p.organization_id = %(org)s AND {PAYMENT_NOW_PREDICATE} AND p.received_date <= %(d)s
      AND NOT EXISTS (SELECT 1 FROM moving m WHERE m.kind = 'p' AND m.item_id = p.id)
    UNION ALL
    SELECT 'p', p.id, p.customer_id, p.currency, p.received_date, NULL::date, {PAYMENT_EXACT}
    FROM moving m JOIN payments_payment p ON p.id = m.item_id {PAYMENT_JOINS}
    WHERE m.kind = 'p'
    UNION ALL
    SELECT 'c', c.id, c.customer_id, c.currency, c.issue_date, NULL::date, c.total - c.amount_applied
    FROM invoicing_creditnote c
    WHERE c.organization_id = %(org)s AND {CREDIT_NOW_PREDICATE} AND c.issue_date <= %(d)s
      AND NOT EXISTS (SELECT 1 FROM moving m WHERE m.kind = 'c' AND m.item_id = c.id)
    UNION ALL
    SELECT 'c', c.id, c.customer_id, c.currency, c.issue_date, NULL::date, {CREDIT_EXACT}
    FROM moving m JOIN invoicing_creditnote c ON c.id = m.item_id {CREDIT_JOINS}
    WHERE m.kind = 'c'
"""  # noqa: S608 - built from constants only
FAST_ITEMS = f"""{MOVING},
items AS ({FAST_INVOICES}    UNION ALL{FAST_UNAPPLIED})
"""
# Only the payments and credit notes (reports.aging's summary path reads invoices from the summary).
FAST_UNAPPLIED_ITEMS = f"""{MOVING},
items AS ({FAST_UNAPPLIED})
"""

DIRECT_ITEMS = f"""
items AS (
    SELECT 'i'::text AS kind, i.id AS item_id, i.customer_id, i.currency, i.issue_date AS doc_date, i.due_date,
           {INVOICE_EXACT} AS amount
    FROM invoicing_invoice i {INVOICE_JOINS}
    WHERE i.organization_id = %(org)s AND i.customer_id = ANY(%(customers)s) AND i.status <> 'draft'
    UNION ALL
    SELECT 'p', p.id, p.customer_id, p.currency, p.received_date, NULL::date, {PAYMENT_EXACT}
    FROM payments_payment p {PAYMENT_JOINS}
    WHERE p.organization_id = %(org)s AND p.customer_id = ANY(%(customers)s)
    UNION ALL
    SELECT 'c', c.id, c.customer_id, c.currency, c.issue_date, NULL::date, {CREDIT_EXACT}
    FROM invoicing_creditnote c {CREDIT_JOINS}
    WHERE c.organization_id = %(org)s AND c.customer_id = ANY(%(customers)s)
)
"""  # noqa: S608 - built from constants only


def items_cte(org_id: int, as_of: date, customers=None) -> tuple[str, dict]:
    """The body of a WITH clause defining `items` (nonzero and zero rows; filter `amount <> 0`).
    With `customers` (ids) the direct evaluation for those customers, else the fast one."""
    params = {"org": org_id, "d": as_of}
    if customers is not None:
        params["customers"] = [int(c) for c in customers]
        return DIRECT_ITEMS, params
    return FAST_ITEMS, params


PARAM = re.compile(r"%\((\w+)\)s")


def suffixed(sql: str, params: dict, tag) -> tuple[str, dict]:
    """`sql` and `params` with every parameter renamed `name_<tag>`: several as-of evaluations (each its
    own `%(d)s`) can then be subqueries of one statement."""
    return (PARAM.sub(lambda m: f"%({m.group(1)}_{tag})s", sql),
            {f"{k}_{tag}": v for k, v in params.items()})


@contextmanager
def report_cursor():
    """A cursor for the big report queries: in a transaction, with room to hash and sort in
    memory, without JIT compilation (it costs more than it saves on these plans), and without
    sequential scans of the tenant tables. Under row-level security PostgreSQL ignores the
    statistics of non-leakproof operators (numeric comparisons are not leakproof), so it cannot
    see that "unapplied <> 0" matches 1 % of the payments and would read the whole table instead
    of the partial index; every query here has an index for what it reads."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        yield cursor


@dataclass
class OpenItem:
    kind: str  # "i" invoice (amount open), "p" payment, "c" credit note (amount unapplied)
    item_id: int
    customer_id: int
    currency: str
    number: str
    doc_date: date
    due_date: date | None
    amount: Decimal

    @property
    def is_invoice(self) -> bool:
        return self.kind == "i"

    def age(self, as_of: date, basis: str = "due") -> int:
        ref = self.due_date if (basis == "due" and self.due_date) else self.doc_date
        return (as_of - ref).days


ITEMS_WITH_NUMBERS = """
SELECT it.kind, it.item_id, it.customer_id, it.currency,
       coalesce(i.number, c.number, nullif(p.reference, ''), '#' || it.item_id::text),
       it.doc_date, it.due_date, it.amount
FROM items it
LEFT JOIN invoicing_invoice i ON it.kind = 'i' AND i.id = it.item_id
LEFT JOIN invoicing_creditnote c ON it.kind = 'c' AND c.id = it.item_id
LEFT JOIN payments_payment p ON it.kind = 'p' AND p.id = it.item_id
WHERE it.amount <> 0 {extra}
ORDER BY it.customer_id, coalesce(it.due_date, it.doc_date), it.doc_date, it.kind, it.item_id
"""


def open_items(org, as_of: date, customers=None, *, currency: str | None = None) -> list[OpenItem]:
    """Every item open (invoices) or unapplied (payments, credit notes) as of the date, with its
    amount; for the given customers (direct evaluation) or the whole organization (fast)."""
    cte, params = items_cte(org.pk, as_of, customers)
    extra = ""
    if currency:
        extra = "AND it.currency = %(cur)s"
        params["cur"] = currency
    with report_cursor() as cursor:
        cursor.execute("WITH " + cte + ITEMS_WITH_NUMBERS.format(extra=extra), params)
        return [OpenItem(*row) for row in cursor.fetchall()]


DISPUTED_SQL = f"""
SELECT i.id, {invoice_sql.disputed_part_as_of("i", "(" + INVOICE_EXACT + ")")}
FROM invoicing_invoice i {INVOICE_JOINS}
WHERE i.organization_id = %(org)s AND i.id = ANY(%(ids)s)
"""  # noqa: S608 - built from constants only


def disputed_as_of(org, as_of: date, invoice_ids) -> dict[int, Decimal]:
    """{invoice id: the part of it in dispute at the end of the day} for the given invoices (only
    those with something in dispute): the hold of that day on the invoice's open amount of that day."""
    ids = [int(i) for i in invoice_ids]
    if not ids:
        return {}
    with connection.cursor() as cursor:  # a page's invoices by id: no report settings needed
        cursor.execute(DISPUTED_SQL, {"org": org.pk, "d": as_of, "tz": org.timezone, "ids": ids})
        return {pk: part for pk, part in cursor.fetchall() if part}


def promises_as_of(org, as_of: date, invoice_ids) -> dict[int, date]:
    """{invoice id: promised-by date} of the promises to pay holding the invoices at the end of the day
    (reminders' rule, plugged in at invoicing.hooks.PROMISES_AS_OF)."""
    from invoicing import hooks

    ids = [int(i) for i in invoice_ids]
    if not ids or hooks.PROMISES_AS_OF is None:
        return {}
    return hooks.PROMISES_AS_OF(org, as_of, ids)


def ar_control(org, as_of: date, currency: str) -> Decimal:
    """The AR control account's balance as of the date, in one currency (from the day totals)."""
    return account_balance(system_account(org, "ar"), as_of=as_of, currency=currency)


def ar_control_by_currency(org, as_of: date) -> dict[str, Decimal]:
    """ar_control of every currency at once: {currency: balance as of the date} (one grouped query)."""
    from django.db.models import Sum

    from accounts.models import AccountDayTotal

    return dict(AccountDayTotal.objects.filter(account=system_account(org, "ar"), day__lte=as_of)
                .values("currency").annotate(s=Sum("amount")).values_list("currency", "s"))


def customer_net(items: list[OpenItem]) -> Decimal:
    """Σ open − Σ unapplied: what these items say the customer owes."""
    return sum((it.amount if it.kind == "i" else -it.amount for it in items), ZERO)


def org_currencies(org) -> list[str]:
    """Currencies the organization has receivable postings in, the base currency first (read
    from the day totals: a few hundred rows, where customers could be a hundred thousand)."""
    from accounts.models import AccountDayTotal

    found = set(AccountDayTotal.objects.filter(organization=org).order_by().values_list("currency", flat=True)
                .distinct())
    found.add(org.base_currency)
    return sorted(found, key=lambda c: (c != org.base_currency, c))
