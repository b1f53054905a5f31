"""The database side of issuing an invoice: few round trips, and the organization-wide locks last.

Issuing is the busiest write of the product (a month-end run issues thousands, the API issues
for shops at their own pace), and every issue of an organization queues on two rows: its number
series (the gapless number) and its ledger head (the sequence and the hash chain). Whatever runs
between taking the first of them and the commit is run by one issue at a time, so issuing does
everything it can before (invoicing.services.issue_invoice):

1. `load_draft`: one psycopg pipeline, one wait, for four statements that run in order on the
   server: lock the invoice row and its customer's (read with its organization and settings),
   read its lines, read the system accounts, read the customer's credit figures
   (invoicing.credit_control). Only this document's and its customer's rows are locked.
2. in Python, no organization-wide lock held: the checks, totals, credit control, the snapshot,
   the rate, the render task's row.
3. `invoicing.numbering.take_number`: the number (the series row stays locked until commit, so a
   rolled-back issue gives its number back);
4. the ledger posting (accounts.ledger.post, one prepared statement, which takes the head lock);
5. `store_issued`: one statement updating the invoice, inserting its timeline event and queueing
   its PDF render (the django-q2 task row, ledger_site.queue.task_row).

Every statement is prepared (ledger_site.pg): planning the joins cost more than running them.

The rules themselves (what may be issued, totals, snapshot, posting lines) stay in
invoicing.services.issue_invoice; this module only moves rows.
"""

import json
from dataclasses import dataclass
from datetime import date

import psycopg
from django.db import connection

from accounts.models import Account, Customer, Organization
from accounts.models_org import today_in
from invoicing import amounts, credit_control
from invoicing.models import Invoice, InvoiceLine, InvoiceSettings, TaxRate
from ledger_site.pg import prepared, raw_connection
from ledger_site.queue import TaskRow


def _columns(model, alias: str) -> tuple[list[str], str]:
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], ", ".join(f'{alias}."{f.column}"' for f in fields)


_INVOICE, _INVOICE_SQL = _columns(Invoice, "i")
_CUSTOMER, _CUSTOMER_SQL = _columns(Customer, "c")
_ORG, _ORG_SQL = _columns(Organization, "o")
_SETTINGS, _SETTINGS_SQL = _columns(InvoiceSettings, "s")
_LINE, _LINE_SQL = _columns(InvoiceLine, "l")
_RATE, _RATE_SQL = _columns(TaxRate, "r")
_ACCOUNT, _ACCOUNT_SQL = _columns(Account, "a")

# The f-strings in this module only splice in column and table names from the models' metadata.
_LOCK_SQL = f"""
SELECT {_INVOICE_SQL}, {_CUSTOMER_SQL}, {_ORG_SQL}, {_SETTINGS_SQL}
FROM invoicing_invoice i
JOIN accounts_customer c ON c.id = i.customer_id
JOIN accounts_organization o ON o.id = i.organization_id
JOIN invoicing_invoicesettings s ON s.organization_id = i.organization_id
WHERE i.id = %(invoice)s AND i.organization_id = %(org)s
FOR UPDATE OF i FOR NO KEY UPDATE OF c
"""
_LINES_SQL = f"""
SELECT {_LINE_SQL}, {_RATE_SQL}
FROM invoicing_invoiceline l LEFT JOIN {TaxRate._meta.db_table} r ON r.id = l.tax_rate_id
WHERE l.invoice_id = %(invoice)s
ORDER BY l.position, l.id
"""
ISSUE_ACCOUNTS = ("ar", "revenue", "late_fee", "tax")  # what invoicing.services._post_issue posts to
_ACCOUNTS_SQL = f"""
SELECT {_ACCOUNT_SQL} FROM accounts_account a
WHERE a.organization_id = (SELECT organization_id FROM invoicing_invoice WHERE id = %(invoice)s)
  AND a.system_key IN ({", ".join(f"'{key}'" for key in ISSUE_ACCOUNTS)})
"""


@dataclass
class Draft:
    invoice: Invoice  # with .customer and .organization (and its .invoice_settings) attached
    lines: list[InvoiceLine]  # with .tax_rate attached
    accounts: dict[str, Account]  # ISSUE_ACCOUNTS, by system key
    credit_figures: tuple  # credit_control.ISSUE_CHECK_SQL's row, read on `today`
    today: date


def load_draft(invoice_pk: int, organization_id: int) -> Draft | None:
    """Lock and read everything issuing needs; None if there is no such invoice in this
    organization. Call inside the issuing transaction."""
    today = today_in()
    params = {"invoice": invoice_pk, "org": organization_id, **credit_control.figures_params(today)}
    pg = raw_connection()
    with connection.wrap_database_errors, \
            psycopg.Cursor(pg) as lock, psycopg.Cursor(pg) as lines, psycopg.Cursor(pg) as accounts, \
            psycopg.Cursor(pg) as credit:
        with pg.pipeline():
            lock.execute(_LOCK_SQL, params, prepare=prepared())
            lines.execute(_LINES_SQL, params, prepare=prepared())
            accounts.execute(_ACCOUNTS_SQL, params, prepare=prepared())
            credit.execute(credit_control.ISSUE_CHECK_SQL, params, prepare=prepared())
        # Read once the pipeline has ended: a fetch inside it waits for its answer, and the end (the
        # Sync) waits again.
        head = lock.fetchone()
        line_rows, account_rows = lines.fetchall(), accounts.fetchall()
        credit_figures = credit.fetchone()
    if head is None:
        return None
    invoice = _build(Invoice, _INVOICE, head, 0)
    at = len(_INVOICE)
    invoice.customer = _build(Customer, _CUSTOMER, head, at)
    at += len(_CUSTOMER)
    invoice.organization = _build(Organization, _ORG, head, at)
    at += len(_ORG)
    invoice.organization.invoice_settings = _build(InvoiceSettings, _SETTINGS, head, at)
    loaded = []
    for row in line_rows:
        line = _build(InvoiceLine, _LINE, row, 0)
        line.tax_rate = _build(TaxRate, _RATE, row, len(_LINE)) if line.tax_rate_id else None
        line.invoice = invoice
        loaded.append(line)
    by_key = {}
    for row in account_rows:
        account = _build(Account, _ACCOUNT, row, 0)
        by_key[account.system_key] = account
    return Draft(invoice, loaded, by_key, credit_figures, today)


_STORE_SQL = f"""
WITH u AS (
    UPDATE invoicing_invoice SET status = 'issued', number = %(number)s, issue_date = %(issue_date)s,
        due_date = %(due_date)s, subtotal = %(subtotal)s, discount_total = %(discount_total)s,
        tax_total = %(tax_total)s, total = %(total)s, {amounts.ISSUE_SET_SQL},
        snapshot = %(snapshot)s::jsonb, issue_entry_id = %(entry)s, issued_at = %(issued_at)s,
        issued_by_id = %(actor)s, fx_rate = %(fx_rate)s
    WHERE id = %(invoice)s AND status = 'draft'
    RETURNING id, organization_id, updated_at
),
event AS (
    INSERT INTO invoicing_invoiceevent (organization_id, invoice_id, at, kind, message, actor_id)
    SELECT organization_id, id, %(issued_at)s, 'issued', %(message)s, %(actor)s FROM u
)
-- The render task (ledger_site.queue): one call per issued row, the application role cannot
-- write the queue's table itself.
SELECT id, ledger_task_enqueue(%(task_key)s, %(task_payload)s, %(issued_at)s), updated_at FROM u
"""


def store_issued(invoice: Invoice, message: str, render: TaskRow) -> None:
    """Write the issued invoice's frozen fields, its "issued" event and its `render` task row (one
    statement); `invoice` then carries the row's new `updated_at`."""
    params = {
        "invoice": invoice.pk, "number": invoice.number, "issue_date": invoice.issue_date,
        "due_date": invoice.due_date, "subtotal": invoice.subtotal, "discount_total": invoice.discount_total,
        "tax_total": invoice.tax_total, "total": invoice.total, **amounts.issue_params(invoice),
        "snapshot": json.dumps(invoice.snapshot), "entry": invoice.issue_entry_id, "fx_rate": invoice.fx_rate,
        "issued_at": invoice.issued_at, "actor": invoice.issued_by_id, "message": message[:500],
        "task_key": render.key, "task_payload": render.payload,
    }
    pg = raw_connection()
    with connection.wrap_database_errors, psycopg.Cursor(pg) as cursor:
        cursor.execute(_STORE_SQL, params, prepare=prepared())
        row = cursor.fetchone()
        if row is None:
            raise RuntimeError(f"invoice {invoice.pk} was not a draft when stored; the transaction must roll back")
    invoice.updated_at = row[2]  # set by the row's trigger (invoicing_invoice_touch)


def _build(model, names: list[str], row, start: int):
    values = row[start:start + len(names)]
    return model.from_db(connection.alias, names, values)
