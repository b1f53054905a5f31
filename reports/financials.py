"""Balance sheet and cash-flow statement (indirect method) from the general ledger (issue 20).

Both read the ledger's account day totals (exact, kept by the posting transaction), per currency
(the ledger never converts).

Balance sheet as of the end of day D: every asset account's balance (debit positive), every
liability and equity account's balance (credit positive), and the earnings to date = income −
expenses over all days up to D, shown under equity (no closing entries are posted). Because every
entry balances per currency, assets = liabilities + equity + earnings, always.

Cash-flow statement for [start, end], indirect method: net profit of the period, then the change of
every non-cash balance-sheet account (an asset's increase takes cash, a liability's or equity's
increase gives it), giving the net change in cash, which reconciles to the movement of the cash and
bank accounts: asset accounts with system key bank, cash or card (card clearing: money in transit)
or a code in the chart's cash range 1000–1099 (bank accounts added by the organization).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from accounts.models import Account, AccountDayTotal, AccountType
from reports.asof import ZERO

CASH_KEYS = ("bank", "cash", "card")


def is_cash(account: Account) -> bool:
    return account.type == AccountType.ASSET and (account.system_key in CASH_KEYS or account.code[:2] == "10")


@dataclass
class Line:
    account: Account
    amount: Decimal


@dataclass
class BalanceSheet:
    as_of: date
    currency: str
    assets: list[Line] = field(default_factory=list)
    liabilities: list[Line] = field(default_factory=list)
    equity: list[Line] = field(default_factory=list)
    earnings: Decimal = ZERO

    @property
    def total_assets(self) -> Decimal:
        return sum((x.amount for x in self.assets), ZERO)

    @property
    def total_liabilities(self) -> Decimal:
        return sum((x.amount for x in self.liabilities), ZERO)

    @property
    def total_equity(self) -> Decimal:
        return sum((x.amount for x in self.equity), ZERO) + self.earnings

    @property
    def balances(self) -> bool:
        return self.total_assets == self.total_liabilities + self.total_equity


def _balances(org, currency: str, first: date | None, last: date) -> dict[int, Decimal]:
    rows = AccountDayTotal.objects.filter(organization=org, currency=currency, day__lte=last)
    if first is not None:
        rows = rows.filter(day__gte=first)
    return {r["account_id"]: r["s"] for r in rows.values("account_id").annotate(s=Sum("amount"))}


def balance_sheet(org, currency: str, as_of: date) -> BalanceSheet:
    sums = _balances(org, currency, None, as_of)
    bs = BalanceSheet(as_of=as_of, currency=currency)
    for account in Account.objects.filter(organization=org).order_by("code"):
        amount = sums.get(account.pk, ZERO)
        if account.type == AccountType.ASSET:
            bs.assets.append(Line(account, amount))
        elif account.type == AccountType.LIABILITY:
            bs.liabilities.append(Line(account, -amount))
        elif account.type == AccountType.EQUITY:
            bs.equity.append(Line(account, -amount))
        else:  # income (credit) and expense (debit): earnings to date
            bs.earnings -= amount
    return bs


@dataclass
class CashFlow:
    start: date
    end: date
    currency: str
    net_profit: Decimal = ZERO
    adjustments: list[Line] = field(default_factory=list)  # cash effect of each non-cash account's change
    cash_lines: list[Line] = field(default_factory=list)  # movement of each cash and bank account
    cash_open: Decimal = ZERO
    cash_close: Decimal = ZERO

    @property
    def net_change(self) -> Decimal:
        return self.net_profit + sum((x.amount for x in self.adjustments), ZERO)

    @property
    def cash_movement(self) -> Decimal:
        return sum((x.amount for x in self.cash_lines), ZERO)

    @property
    def reconciles(self) -> bool:
        return self.net_change == self.cash_movement == self.cash_close - self.cash_open


def cash_flow(org, currency: str, start: date, end: date) -> CashFlow:
    totals = AccountDayTotal.objects.filter(organization=org, currency=currency, day__lte=end).values(
        "account_id").annotate(moved=Sum("amount", filter=Q(day__gte=start)), before=Sum("amount",
                                                                                          filter=Q(day__lt=start)))
    found = {r["account_id"]: (r["moved"] or ZERO, r["before"] or ZERO) for r in totals}
    cf = CashFlow(start=start, end=end, currency=currency)
    for account in Account.objects.filter(organization=org).order_by("code"):
        moved, before = found.get(account.pk, (ZERO, ZERO))
        if account.type in (AccountType.INCOME, AccountType.EXPENSE):
            cf.net_profit -= moved
        elif is_cash(account):
            cf.cash_lines.append(Line(account, moved))
            cf.cash_open += before
            cf.cash_close += before + moved
        else:
            # A debit movement (an asset growing, a liability shrinking) takes cash: −moved.
            cf.adjustments.append(Line(account, -moved))
    return cf
