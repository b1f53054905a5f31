"""Money rules in one place: Decimal only, ISO 4217 minor units, one rounding rule.

Rounding rule (used everywhere an amount is computed, e.g. per invoice line): round half
away from zero (ROUND_HALF_UP on the absolute value) to the currency's minor unit, once, at the
line level; totals are sums of rounded lines and are never rounded again.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Minor units that differ from 2 (ISO 4217). Everything else has 2.
_MINOR_UNITS = {
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0, "UGX": 0, "PYG": 0,
    "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3, "LYD": 3, "IQD": 3,
}
MAX_DIGITS = 18  # numeric(18, 3) in the database
DECIMAL_PLACES = 3
# One amount (a line, a document, a payment) is at most a thousandth of what the column holds, so
# the sums the database keeps (day totals, balances, invoice totals) cannot overflow numeric(18, 3)
# (issue 22: a payment near 10**15 was a 500 in the day totals).
COLUMN_MAX = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES) - Decimal("0.001")
MAX_ABS = Decimal(10) ** 12 - Decimal("0.001")


class MoneyError(ValueError):
    pass


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """The one rounding rule: half away from zero, to the currency's minor unit."""
    require_decimal(amount)
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def require_decimal(amount) -> Decimal:
    # bool is an int; float is inexact: both are refused, money is Decimal end to end.
    if not isinstance(amount, Decimal) or isinstance(amount, bool):
        raise MoneyError(f"Amounts must be Decimal, not {type(amount).__name__}.")
    if not amount.is_finite():
        raise MoneyError("Amounts must be finite numbers.")
    return amount


def check_exact(amount, currency: str) -> Decimal:
    """Refuse an amount with more decimals than the currency has, or beyond the column."""
    require_decimal(amount)
    try:
        exact = amount.quantize(quantum(currency))
    except InvalidOperation as e:
        raise MoneyError(f"{amount} is too large.") from e
    if exact != amount:
        raise MoneyError(f"{amount} has more decimals than {currency} allows ({minor_units(currency)}).")
    if abs(amount) > MAX_ABS:
        raise MoneyError(f"{amount} is too large: beyond the largest amount the ledger accepts ({MAX_ABS:,}).")
    return exact


# Amounts shown to people (pages, PDFs, charts, messages, e-mails) write a negative with the minus
# sign U+2212, which matches the "−" the templates put before credits. Exports and form inputs
# never go through these functions: they write str(Decimal), an ASCII "-" that spreadsheets parse.
MINUS = "\u2212"


def format_amount(amount: Decimal, currency: str) -> str:
    """-1234.5 in EUR → "−1,234.50" (en_GB; "−1.234,50" in de_DE): the currency's decimals, thousands
    grouped in the organization's locale, no currency code."""
    places = minor_units(currency)
    value = amount.quantize(quantum(currency))
    sign = MINUS if value < 0 else ""
    # The organization's marks (accounts.locale): "1.234,50" for de_DE; "1,234.50" by default.
    from accounts.locale import localize_marks

    return sign + localize_marks(f"{abs(value):,.{places}f}")


def format_money(amount: Decimal, currency: str) -> str:
    return f"{format_amount(amount, currency)} {currency}"


def money_filter(amount, currency):
    """The `money` template filter of every app's tag library (one implementation):
    {{ invoice.total|money:invoice.currency }} → 1,234.50 EUR; None and "" → —."""
    if amount is None or amount == "":
        return "—"
    try:
        return format_money(Decimal(amount), currency or "")
    except (InvalidOperation, TypeError, ValueError):
        return amount
