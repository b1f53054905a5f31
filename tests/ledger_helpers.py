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
