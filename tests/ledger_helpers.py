"""Small helpers for tests that post to the ledger."""

from datetime import date
from decimal import Decimal

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import Line

_counter = iter(range(1, 10**9))


def sale(org, customer, amount, *, effective_date=None, key=None, actor=None):
    """AR debit against revenue: the simplest customer charge."""
    acc = system_accounts(org)
    amount = Decimal(amount)
    return ledger.post(
        org, [Line(acc["ar"], amount, customer), Line(acc["revenue"], -amount)],
        effective_date=effective_date or date.today(), idempotency_key=key or f"test:{next(_counter)}",
        memo="test sale", actor=actor,
    )


def receipt(org, customer, amount, *, effective_date=None, key=None):
    acc = system_accounts(org)
    amount = Decimal(amount)
    return ledger.post(
        org, [Line(acc["bank"], amount), Line(acc["ar"], -amount, customer)],
        effective_date=effective_date or date.today(), idempotency_key=key or f"test:{next(_counter)}",
        memo="test receipt",
    )


def flat_rates(org, rates: dict, *, start=None, end=None, step: int = 7):
    """Exchange rates for foreign-currency postings (issue 17: a foreign line without a rate of its
    day is refused): {"USD": "0.9", ...}, one row every `step` days from `start` (ten years back) to
    `end` (a year ahead), so accounts.fx.rate_on finds one for any day the ledger accepts."""
    from datetime import timedelta

    from accounts.models_fx import ExchangeRate
    from accounts.models_org import today_in

    today = today_in(org)
    start = start or today - timedelta(days=ledger.MAX_DAYS_BACK)
    end = end or today + timedelta(days=ledger.MAX_DAYS_AHEAD)
    rows, day = [], start
    while day <= end:
        rows += [ExchangeRate(organization=org, currency=code, day=day, rate=Decimal(str(rate)))
                 for code, rate in rates.items()]
        day += timedelta(days=step)
    rows += [ExchangeRate(organization=org, currency=code, day=end, rate=Decimal(str(rate)))
             for code, rate in rates.items() if (end - start).days % step]
    ExchangeRate.objects.bulk_create(rows)
    return rows
