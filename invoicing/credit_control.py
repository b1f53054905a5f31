"""Credit control's rule and the check on issuing (the list of flagged customers is reports').

The rule lives here once: `credit_check` (a customer whose balance plus the new invoice exceeds
its credit limit, 0 = no limit, or who has invoices overdue by more than the organization's
threshold, `accounts.credit_terms.overdue_days`). Issuing reads the customer's figures
(ISSUE_CHECK_SQL) in the same round trip that locks the draft and its customer (invoicing.issuing),
computes the totals, then calls:

    check_on_issue(invoice, actor, override_reason, figures, today)
    # within limits → the check; not checked (None) for late fees and system issuing (no actor);
    # otherwise raises CreditLimitExceeded (a LedgerError: .check has the figures) unless an owner
    # gives a reason: then a CreditOverride row and a "credit_override" event on the invoice's
    # timeline are written in the issuing transaction.

`credit_check(customer, extra_amount)` alone answers without recording anything (the warning on
the invoice page).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from accounts.credit_terms import overdue_days_sql
from accounts.ledger import LedgerError
from accounts.models import Membership, Role
from accounts.money import format_money
from invoicing import invoice_sql
from invoicing.models import CreditOverride, InvoiceKind
from ledger_site.tenancy import organization_of

ZERO = Decimal(0)


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


class CreditLimitExceeded(LedgerError):
    """Issuing refused by credit control; nothing was written. `.check` has the figures."""

    def __init__(self, check: CreditCheck, message: str | None = None):
        self.check = check
        super().__init__(message or " ".join(check.problems) + " " + _("An owner must approve it, with a reason."))


# One statement: the customer's limit, its balance, the organization's overdue threshold and what is
# open beyond it. {customer} and {org} are the customer's and its organization's ids: parameters, or
# for issuing the draft's, so that it can run in issuing's pipeline before the draft is read.
# The cutoff date is computed once (an uncorrelated subquery) so that it bounds the scan of index
# invoice_open_by_customer: written as `due_date < today - days` inside the lateral join it stays a
# filter (date - integer is not leakproof, and row-level security keeps such a test above the
# policy's), and every open invoice of the customer is read.
_FIGURES_SQL = """
WITH s AS MATERIALIZED (
    SELECT days, %(today)s::date - days AS cutoff
    FROM (SELECT """ + overdue_days_sql("{org}") + """ AS days) d
)
SELECT c.credit_limit, coalesce(b.amount, 0), (SELECT days FROM s), late.amount, late.oldest
FROM accounts_customer c
LEFT JOIN accounts_customerbalance b
       ON b.organization_id = c.organization_id AND b.customer_id = c.id AND b.currency = c.currency
CROSS JOIN LATERAL (SELECT sum(i.amount_due) AS amount, min(i.due_date) AS oldest FROM invoicing_invoice i
                    WHERE i.organization_id = c.organization_id AND i.customer_id = c.id
                      AND """ + invoice_sql.is_overdue("i", "(SELECT cutoff FROM s)") + """) late
WHERE c.id = {customer} AND c.organization_id = {org}
"""  # noqa: S608 - built from constants only
CHECK_SQL = _FIGURES_SQL.format(customer="%(customer)s", org="%(org)s")
# Issuing's: the invoice's customer. Run it after the customer row is locked (two invoices for one
# customer issued at once must not both pass against the same balance): under READ COMMITTED a later
# statement's snapshot includes what the other issue committed.
ISSUE_CHECK_SQL = _FIGURES_SQL.format(customer="(SELECT customer_id FROM invoicing_invoice WHERE id = %(invoice)s)",
                                      org="(SELECT organization_id FROM invoicing_invoice WHERE id = %(invoice)s)")


def figures_params(today: date) -> dict:
    return {"today": today}


def credit_check(customer, extra_amount: Decimal = ZERO, today: date | None = None,
                 figures: tuple | None = None) -> CreditCheck:
    """The rule: `extra_amount` more would take the customer over its credit limit (0 = none), or it
    has invoices overdue by more than the organization's threshold (accounts.credit_terms). Records nothing.
    `figures`: the row of the check statement, when the caller has read it (issuing, on `today`)."""
    today = today or organization_of(customer).today()
    if figures is None:
        params = {"customer": customer.pk, "org": customer.organization_id, **figures_params(today)}
        with connection.cursor() as cursor:
            cursor.execute(CHECK_SQL, params)
            figures = cursor.fetchone()
    credit_limit, balance, days, late_amount, oldest_due = figures
    check = CreditCheck(customer, extra_amount, balance, credit_limit or ZERO, days)
    cur = customer.currency
    if check.credit_limit and check.exposure > check.credit_limit:
        check.problems.append(_("This takes %(name)s to %(exposure)s, over its credit limit of %(limit)s by %(over)s.")
                              % {"name": customer.name, "exposure": format_money(check.exposure, cur),
                                 "limit": format_money(check.credit_limit, cur),
                                 "over": format_money(check.over_limit_by, cur)})
    if late_amount:
        check.overdue_beyond = late_amount
        check.oldest_days = (today - oldest_due).days
        check.problems.append(_("%(name)s has %(amount)s overdue by more than %(n)s days (the oldest by %(d)s days).")
                              % {"name": customer.name, "amount": format_money(late_amount, cur),
                                 "n": days, "d": check.oldest_days})
    return check


def is_owner(actor, org) -> bool:
    return actor is not None and Membership.objects.filter(organization=org, user=actor, role=Role.OWNER).exists()


REASON_MAX = CreditOverride._meta.get_field("reason").max_length


def approve_override(check: CreditCheck, *, actor, reason: str, invoice=None) -> CreditOverride:
    """Record an owner's decision to go ahead despite the check's problems."""
    reason = (reason or "").strip()
    org = check.customer.organization
    if not is_owner(actor, org):
        raise CreditLimitExceeded(check, _("Only an owner can override credit control.") + " "
                                  + " ".join(check.problems))
    if not reason:
        raise CreditLimitExceeded(check, _("An override needs a reason."))
    if len(reason) > REASON_MAX:
        raise CreditLimitExceeded(check, _("Keep the reason within %(n)s characters.") % {"n": REASON_MAX})
    override = CreditOverride.objects.create(
        organization=org, customer=check.customer, invoice=invoice, amount=check.extra_amount,
        balance=check.balance, credit_limit=check.credit_limit, problems=" ".join(check.problems)[:500],
        reason=reason, approved_by=actor,
    )
    if invoice is not None:
        from invoicing.services import record_event  # services imports this module

        cur, figures = check.customer.currency, []
        if check.over_limit_by:
            figures.append(_("over the limit of %(limit)s by %(over)s")
                           % {"limit": format_money(check.credit_limit, cur),
                              "over": format_money(check.over_limit_by, cur)})
        if check.overdue_beyond:
            figures.append(_("%(amount)s overdue by more than %(n)s days")
                           % {"amount": format_money(check.overdue_beyond, cur), "n": check.overdue_days_limit})
        # The reason comes last: the event message is cut at 500 characters, the override row keeps it whole.
        record_event(invoice, "credit_override",
                     (_("Credit limit overridden by %(who)s (%(figures)s): %(reason)s") if check.over_limit_by
                      else _("Credit control overridden by %(who)s (%(figures)s): %(reason)s"))
                     % {"who": actor, "figures": "; ".join(figures), "reason": reason}, actor)
    return override


def require_credit_ok(customer, extra_amount: Decimal, *, actor=None, override_reason: str | None = None,
                      invoice=None, figures: tuple | None = None, today: date | None = None) -> CreditCheck:
    check = credit_check(customer, extra_amount, today, figures)
    if check.ok:
        return check
    if override_reason is None:
        raise CreditLimitExceeded(check)
    approve_override(check, actor=actor, reason=override_reason, invoice=invoice)
    return check


def check_on_issue(invoice, actor, override_reason: str | None, figures: tuple, today: date) -> CreditCheck | None:
    """Called by issue_invoice with the draft and its customer locked, its total known and `figures`
    (ISSUE_CHECK_SQL's row on `today`) read with the draft: no query when within limits.

    Not checked: late fees (a charge under terms the customer already agreed to, owed whatever its
    limit; refusing it would only lose the fee and fail the reminder that announces it) and issuing
    without an actor (system code: the reminder scheduler, imports — nobody to warn, nobody who could
    approve)."""
    if actor is None or invoice.kind == InvoiceKind.LATE_FEE:
        return None
    return require_credit_ok(invoice.customer, invoice.total, actor=actor, override_reason=override_reason,
                             invoice=invoice, figures=figures, today=today)
