"""Credit control: who is over their credit limit or long overdue, and the check on issuing.

For the invoicing engineer (call it inside `issue_invoice`, before posting):

    from reports.credit_control import require_credit_ok, CreditLimitExceeded

    check = require_credit_ok(invoice.customer, invoice.total, actor=user,
                              override_reason=reason_or_none, invoice=invoice)
    # returns a CreditCheck when the customer is within its limit and has nothing overdue
    # beyond the organization's threshold, or when an owner overrides with a reason (the
    # override is recorded: a CreditOverride row and an "credit_override" event on the invoice);
    # raises CreditLimitExceeded (a ValidationError; .check has the figures, .messages the
    # problems) otherwise — e.g. a finance user without an override, or an override without a reason.

`credit_check(customer, extra_amount)` alone answers without recording anything (for the
warning shown on the issue confirmation page).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerBalance, Membership, Role
from accounts.money import format_money
from invoicing.models import Invoice
from reports.asof import ZERO, report_cursor
from reports.models import CreditOverride, ReportSettings


@dataclass
class CreditCheck:
    customer: object
    extra_amount: Decimal
    balance: Decimal
    credit_limit: Decimal  # 0 = no limit
    overdue_days_limit: int
    overdue_beyond: Decimal = ZERO  # open on invoices more than overdue_days_limit days past due
    oldest_days: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def exposure(self) -> Decimal:
        return self.balance + self.extra_amount

    @property
    def over_limit_by(self) -> Decimal:
        if not self.credit_limit:
            return ZERO
        return max(self.exposure - self.credit_limit, ZERO)

    @property
    def ok(self) -> bool:
        return not self.problems


class CreditLimitExceeded(ValidationError):
    def __init__(self, check: CreditCheck, message: str | None = None):
        self.check = check
        super().__init__(message or " ".join(check.problems))


def credit_check(customer, extra_amount: Decimal = ZERO, today: date | None = None) -> CreditCheck:
    today = today or timezone.localdate()
    org = customer.organization
    settings = ReportSettings.for_org(org)
    balance = (CustomerBalance.objects.filter(customer=customer, currency=customer.currency)
               .values_list("amount", flat=True).first()) or ZERO
    check = CreditCheck(customer, extra_amount, balance, customer.credit_limit or ZERO, settings.credit_overdue_days)
    cur = customer.currency
    if check.credit_limit and check.exposure > check.credit_limit:
        check.problems.append(_("This takes %(name)s to %(exposure)s, over its credit limit of %(limit)s by %(over)s.")
                              % {"name": customer.name, "exposure": format_money(check.exposure, cur),
                                 "limit": format_money(check.credit_limit, cur),
                                 "over": format_money(check.over_limit_by, cur)})
    cutoff = today - timedelta(days=settings.credit_overdue_days)
    late = Invoice.objects.filter(organization=org, customer=customer, status="issued", amount_due__gt=0,
                                  due_date__lt=cutoff).aggregate(s=Sum("amount_due"), d=Min("due_date"))
    if late["s"]:
        check.overdue_beyond = late["s"]
        check.oldest_days = (today - late["d"]).days
        check.problems.append(_("%(name)s has %(amount)s overdue by more than %(n)s days (the oldest by %(d)s days).")
                              % {"name": customer.name, "amount": format_money(late["s"], cur),
                                 "n": settings.credit_overdue_days, "d": check.oldest_days})
    return check


def approve_override(check: CreditCheck, *, actor, reason: str, invoice=None) -> CreditOverride:
    """Record an owner's decision to go ahead despite the check's problems."""
    reason = (reason or "").strip()
    org = check.customer.organization
    if not reason:
        raise CreditLimitExceeded(check, _("An override needs a reason."))
    if actor is None or not Membership.objects.filter(organization=org, user=actor, role=Role.OWNER).exists():
        raise CreditLimitExceeded(check, _("Only an owner can override credit control.") + " "
                                  + " ".join(check.problems))
    override = CreditOverride.objects.create(
        organization=org, customer=check.customer, invoice=invoice, amount=check.extra_amount,
        balance=check.balance, credit_limit=check.credit_limit, problems=" ".join(check.problems)[:500],
        reason=reason[:500], approved_by=actor,
    )
    if invoice is not None:
        from invoicing.services import record_event

        record_event(invoice, "credit_override", _("Credit control overridden by %(who)s: %(reason)s (%(problems)s)")
                     % {"who": actor, "reason": reason, "problems": " ".join(check.problems)}, actor)
    return override


def require_credit_ok(customer, extra_amount: Decimal, *, actor=None, override_reason: str | None = None,
                      invoice=None) -> CreditCheck:
    check = credit_check(customer, extra_amount)
    if check.ok:
        return check
    if override_reason is None:
        raise CreditLimitExceeded(check)
    approve_override(check, actor=actor, reason=override_reason, invoice=invoice)
    return check


# --- the list ----------------------------------------------------------------------------------

CONTROL_SQL = """
WITH late AS (
    SELECT customer_id, sum(amount_due) AS late_amount, %(today)s - min(due_date) AS oldest_days
    FROM invoicing_invoice
    WHERE organization_id = %(org)s AND status = 'issued' AND amount_due > 0 AND due_date < %(cutoff)s
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
"""


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
    today = today or timezone.localdate()
    days = days if days is not None else ReportSettings.for_org(org).credit_overdue_days
    params = {"org": org.pk, "cur": currency or org.base_currency, "today": today,
              "cutoff": today - timedelta(days=days)}
    with report_cursor() as cursor:
        cursor.execute(CONTROL_SQL, params)
        return [ControlRow(*row) for row in cursor.fetchall()]


def recent_overrides(org, limit: int = 20):
    return CreditOverride.objects.filter(organization=org).select_related("customer", "approved_by", "invoice")[:limit]
