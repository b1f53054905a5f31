"""Profit and loss for a period, from the general ledger's account day totals.

Income accounts show their net credits in the period (credit positive), expense accounts their
net debits; net profit = income − expenses. The previous period of the same length is shown
next to it. Per currency: the ledger never converts.
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


def profit_and_loss(org, start: date, end: date, currency: str | None = None) -> Pnl:
    cur = currency or org.base_currency
    pnl = Pnl(start=start, end=end, currency=cur)
    accounts = {a.pk: a for a in Account.objects.filter(organization=org,
                                                          type__in=[AccountType.INCOME, AccountType.EXPENSE])}
    sums = (AccountDayTotal.objects.filter(organization=org, currency=cur, account_id__in=list(accounts),
                                           day__gte=pnl.previous_start, day__lte=end)
            .values("account_id")
            .annotate(now=Sum("amount", filter=Q(day__gte=start)), before=Sum("amount", filter=Q(day__lt=start))))
    found = {row["account_id"]: (row["now"] or ZERO, row["before"] or ZERO) for row in sums}
    for account in sorted(accounts.values(), key=lambda a: a.code):
        now, before = found.get(account.pk, (ZERO, ZERO))
        if account.type == AccountType.INCOME:
            pnl.income.append(PnlLine(account, -now, -before))
        else:
            pnl.expenses.append(PnlLine(account, now, before))
    return pnl
