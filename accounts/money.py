"""Money rules in one place: Decimal only, ISO 4217 minor units, one rounding rule.

Rounding rule (used everywhere an amount is computed, e.g. per invoice line): round half
away from zero (ROUND_HALF_UP on the absolute value) to the currency's minor unit, once, at the
line level; totals are sums of rounded lines and are never rounded again.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_symbol

from accounts import currencies

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
    """The currency's decimals (accounts.currencies: CLDR data), capped by the columns' 3."""
    return min(currencies.minor_units(currency), DECIMAL_PLACES)


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
# The house style on pages: "1,234.50 EUR" in the organization's number marks (accounts.locale).
# A reader's locale, passed explicitly (a customer's language on a document, issue 17), gets CLDR's
# currency pattern through Babel: de "1.234,56 €", en_IN/hi "₹1,23,456.00", ja "￥1,235".
HOUSE_LOCALE = "en"


@lru_cache(maxsize=64)
def babel_locale(language: str | None) -> str:
    """A Django language code ("de", "en-in", "pt_BR") as a Babel locale name; unknown → "en"."""
    if not language:
        return HOUSE_LOCALE
    try:
        return str(Locale.parse(language.replace("-", "_"), sep="_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return HOUSE_LOCALE


def _babel(value: Decimal, currency: str, locale: str, with_symbol: bool) -> str:
    # The value is already rounded half-up to minor_units; Babel only lays it out (decimals from
    # CLDR's digits, which minor_units reads too).
    text = format_currency(value, currency, locale=locale, currency_digits=True)
    if not with_symbol:
        text = text.replace(get_currency_symbol(currency, locale), "").strip(" \u00a0\u202f")
    return text.replace("-", MINUS)


def _house(value: Decimal, currency: str) -> str:
    """"−1,234.50", in the marks of the organization's number format (accounts.locale: "−1.234,50"
    for de_DE): what every page shows unless a reader's locale is asked for."""
    from accounts.locale import localize_marks

    sign = MINUS if value < 0 else ""
    return sign + localize_marks(f"{abs(value):,.{minor_units(currency)}f}")


def reader_locale(locale: str | None = None) -> str | None:
    """Whose conventions an amount is shown in: the locale asked for, else the active language when
    a document is being rendered in a reader's own language (translation.override(customer's
    language), which differs from the interface's LANGUAGE_CODE), else None: the organization's
    number format (accounts.locale)."""
    if locale:
        return locale
    from django.conf import settings
    from django.utils import translation

    from accounts.locale import current_interface_language, reader_language

    reader = reader_language()  # accounts.locale.in_language: a document for a reader
    if reader:
        return reader
    language = translation.get_language()
    interface = {settings.LANGUAGE_CODE.lower(), (current_interface_language() or "").lower()}
    return language if language and language.lower() not in interface else None


def format_amount(amount: Decimal, currency: str, locale: str | None = None) -> str:
    """-1234.5 in EUR → "−1,234.50": the currency's decimals, no currency. In the organization's
    number format (accounts.locale), or a reader's locale (`reader_locale`: "de", "hi") laid out
    by CLDR through Babel ("−1.234,50"; hi groups 1,23,456)."""
    value = amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)
    locale = reader_locale(locale)
    if locale is None or babel_locale(locale) == HOUSE_LOCALE:
        return _house(value, currency)
    return _babel(value, currency, babel_locale(locale), with_symbol=False)


def format_money(amount: Decimal, currency: str, locale: str | None = None) -> str:
    """1234.5 EUR → "1,234.50 EUR" (the organization's marks and the code, unambiguous when a page
    lists several currencies); for a reader's locale CLDR's pattern: "1.234,50 €" (de), INR in
    en_IN → "₹1,234.50"."""
    locale = reader_locale(locale)
    if locale is None or babel_locale(locale) == HOUSE_LOCALE or not currencies.is_active(currency):
        return f"{format_amount(amount, currency, HOUSE_LOCALE)} {currency}"
    value = amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)
    return _babel(value, currency, babel_locale(locale), with_symbol=True)


def money_filter(amount, currency):
    """The `money` template filter of every app's tag library (one implementation):
    {{ invoice.total|money:invoice.currency }} → 1,234.50 EUR (house) or per the active locale;
    None and "" → —."""
    if amount is None or amount == "":
        return "—"
    try:
        return format_money(Decimal(amount), currency or "")
    except (InvalidOperation, TypeError, ValueError):
        return amount
