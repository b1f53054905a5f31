"""Credit control's list: who is over their credit limit or long overdue, and recent overrides.

The rule itself, the check on issuing and the override audit rows are invoicing's
(invoicing/credit_control.py, invoicing.models.CreditOverride); this is the read-only report.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from accounts.models_org import today_in
from invoicing import invoice_sql
from invoicing.models import CreditOverride
from reports.asof import ZERO, report_cursor
from reports.models import ReportSettings

# --- the list ----------------------------------------------------------------------------------

CONTROL_SQL = """
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
)
SELECT c.id, c.name, c.code, c.credit_limit, coalesce(b.amount, 0), coalesce(l.late_amount, 0), l.oldest_days
FROM (SELECT customer_id FROM late UNION SELECT customer_id FROM over) AS flagged
JOIN accounts_customer c ON c.id = flagged.customer_id
LEFT JOIN accounts_customerbalance b ON b.customer_id = c.id AND b.currency = %(cur)s
LEFT JOIN late l ON l.customer_id = c.id
ORDER BY greatest(coalesce(b.amount, 0) - CASE WHEN c.credit_limit > 0 THEN c.credit_limit ELSE coalesce(b.amount, 0)
         END, 0) DESC, coalesce(l.late_amount, 0) DESC, lower(c.name)
"""  # noqa: S608 - built from constants only


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


def control_list(org, currency=None, days: int | None = None, today: date | None = None) -> list[ControlRow]:
    today = today or today_in(org)
    days = days if days is not None else ReportSettings.for_org(org).credit_overdue_days
    params = {"org": org.pk, "cur": currency or org.base_currency, "today": today,
              "cutoff": today - timedelta(days=days)}
    with report_cursor() as cursor:
        cursor.execute(CONTROL_SQL, params)
        return [ControlRow(*row) for row in cursor.fetchall()]


def recent_overrides(org, limit: int = 20):
    return CreditOverride.objects.filter(organization=org).select_related("customer", "approved_by", "invoice")[:limit]
