"""Invoice arithmetic, exact and in one place.

The rule (also printed in the docs): each line's amounts are rounded once, half away from
zero, to the currency's minor unit —
  gross = quantity × unit price × (1 − line discount %)
  net   = gross × (1 − invoice discount %)
  tax   = net × tax %
— and the invoice's subtotal, discount, tax and total are sums of those rounded figures, so
the printed lines always add up to the printed total.
"""

from dataclasses import dataclass
from decimal import Decimal

from accounts.money import round_money

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal  # Σ gross
    discount: Decimal  # Σ gross − Σ net (the invoice-level discount)
    tax: Decimal
    total: Decimal
    tax_summary: list  # [(tax percent, net base, tax)] per rate


def line_amounts(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal,
                 invoice_discount_percent: Decimal, tax_percent: Decimal, currency: str) -> LineAmounts:
    exact_gross = quantity * unit_price * (1 - discount_percent / HUNDRED)
    gross = round_money(exact_gross, currency)
    net = round_money(exact_gross * (1 - invoice_discount_percent / HUNDRED), currency)
    tax = round_money(net * tax_percent / HUNDRED, currency)
    return LineAmounts(gross, net, tax)


def sum_lines(amounts: list[tuple[Decimal, LineAmounts]]) -> Totals:
    """amounts: [(tax percent, LineAmounts)]."""
    zero = Decimal(0)
    subtotal = sum((a.gross for _, a in amounts), zero)
    net = sum((a.net for _, a in amounts), zero)
    tax = sum((a.tax for _, a in amounts), zero)
    by_rate: dict[Decimal, list[Decimal]] = {}
    for percent, a in amounts:
        base, tax_sum = by_rate.get(percent, [zero, zero])
        by_rate[percent] = [base + a.net, tax_sum + a.tax]
    summary = [(p, b, t) for p, (b, t) in sorted(by_rate.items())]
    return Totals(subtotal=subtotal, discount=subtotal - net, tax=tax, total=net + tax, tax_summary=summary)
