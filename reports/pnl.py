"""Profit and loss for a period, from the general ledger's account day totals.

Income accounts show their net credits in the period (credit positive), expense accounts their
net debits; net profit = income − expenses. The previous period of the same length is shown
next to it. Per currency, or every currency together in the base currency (the base amount the ledger
keeps on every line, at the rate each was booked; issue 17).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from accounts.models import Account, AccountDayTotal, AccountType
from reports.asof import ZERO


@dataclass
class PnlLine:
    account: Account
    amount: Decimal
    previous: Decimal


@dataclass
class Pnl:
    start: date
    end: date
    currency: str
    income: list[PnlLine] = field(default_factory=list)
    expenses: list[PnlLine] = field(default_factory=list)
    unmeasured: int = 0  # in the base-currency view: foreign lines from before base amounts, left out

    @property
    def previous_start(self) -> date:
        return self.start - (self.end - self.start) - timedelta(days=1)

    @property
    def previous_end(self) -> date:
        return self.start - timedelta(days=1)

    @property
    def total_income(self) -> Decimal:
        return sum((line.amount for line in self.income), ZERO)

    @property
    def total_expenses(self) -> Decimal:
        return sum((line.amount for line in self.expenses), ZERO)

    @property
    def net(self) -> Decimal:
        return self.total_income - self.total_expenses

    @property
    def previous_income(self) -> Decimal:
        return sum((line.previous for line in self.income), ZERO)

    @property
    def previous_expenses(self) -> Decimal:
        return sum((line.previous for line in self.expenses), ZERO)

    @property
    def previous_net(self) -> Decimal:
        return self.previous_income - self.previous_expenses


ALL_IN_BASE = "*"


def profit_and_loss(org, start: date, end: date, currency: str | None = None) -> Pnl:
    """`currency` "*" (ALL_IN_BASE): every currency together in the base currency, each line at the rate
    it was booked (accounts.ledger.base_totals; issue 17), so realized and unrealized exchange
    differences show on their own accounts."""
    cur = currency or org.base_currency
    pnl = Pnl(start=start, end=end, currency=org.base_currency if cur == ALL_IN_BASE else cur)
    accounts = {a.pk: a for a in Account.objects.filter(organization=org,
                                                          type__in=[AccountType.INCOME, AccountType.EXPENSE])}
    if cur == ALL_IN_BASE:
        from accounts.ledger import base_totals

        now_sums, pnl.unmeasured = base_totals(org, end, start)
        before_sums, before_unmeasured = base_totals(org, pnl.previous_end, pnl.previous_start)
        pnl.unmeasured += before_unmeasured
        found = {pk: (now_sums.get(pk, ZERO), before_sums.get(pk, ZERO)) for pk in accounts}
        return _fill(pnl, accounts, found)
    sums = (AccountDayTotal.objects.filter(organization=org, currency=cur, account_id__in=list(accounts),
                                           day__gte=pnl.previous_start, day__lte=end)
            .values("account_id")
            .annotate(now=Sum("amount", filter=Q(day__gte=start)), before=Sum("amount", filter=Q(day__lt=start))))
    found = {row["account_id"]: (row["now"] or ZERO, row["before"] or ZERO) for row in sums}
    return _fill(pnl, accounts, found)


def _fill(pnl: Pnl, accounts, found) -> Pnl:
    for account in sorted(accounts.values(), key=lambda a: a.code):
        now, before = found.get(account.pk, (ZERO, ZERO))
        if account.type == AccountType.INCOME:
            pnl.income.append(PnlLine(account, -now, -before))
        else:
            pnl.expenses.append(PnlLine(account, now, before))
    return pnl
