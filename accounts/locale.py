"""How people write numbers and dates, per organization locale (issue 21). One home for:

- `parse_number(raw)`: the one parser of every amount, quantity and percent typed into a form
  (accounts.forms_fields.AmountField uses it; static/js/amount.js mirrors it for the live previews);
- the marks `format_amount` writes (accounts.money) and form inputs show;
- `format_day(d)`: the one display of a date on pages, PDFs and e-mails. Machine exports keep ISO.

The locale is the organization's (`Organization.locale`), read from the request's / task's
current organization; without one, DEFAULT_LOCALE. Babel (CLDR data) supplies the marks.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol, get_minus_sign_symbol
from django.utils.translation import gettext as _

DEFAULT_LOCALE = "en_GB"
# The locales an organization can choose. (Swiss locales are left out: Babel writes their
# numbers without group marks.)
_CODES = ("en_GB", "en_US", "en_IE", "en_AU", "en_IN", "de_DE", "de_AT", "fr_FR", "fr_BE", "nl_NL", "nl_BE",
          "es_ES", "it_IT", "pt_PT", "pt_BR", "sv_SE", "da_DK", "nb_NO", "fi_FI", "pl_PL", "cs_CZ")


def _label(code: str) -> str:
    example = format_decimal(Decimal("1234.56"), locale=code)
    day = format_date(date(2026, 12, 7), "medium", locale=code)
    return f"{Locale.parse(code).get_display_name(code)}: {example} · {day}"


LOCALES = [(code, _label(code)) for code in _CODES]
LOCALE_CODES = frozenset(code for code, _label in LOCALES)

_SPACES = frozenset(" \u00a0\u202f")
_APOSTROPHES = frozenset("'\u2019")
_MINUS = frozenset("-\u2212")


class NumberInputError(ValueError):
    """Typed text that is not a number in the locale; str() is the message for the form."""


def active_locale() -> str:
    from ledger_site.tenancy import current_organization

    org = current_organization()
    code = getattr(org, "locale", None)
    return code if code in LOCALE_CODES else DEFAULT_LOCALE


@lru_cache(maxsize=64)
def marks(locale: str) -> dict:
    """The locale's decimal mark, group mark and grouping sizes (primary, secondary)."""
    loc = Locale.parse(locale)
    pattern = loc.decimal_formats[None]
    primary, secondary = pattern.grouping
    group = get_group_symbol(locale)
    return {"decimal": get_decimal_symbol(locale), "group": group, "grouping": (primary, secondary),
            "minus": get_minus_sign_symbol(locale),
            # what a person types for the group mark: any space for a space-like mark, ' for ’
            "group_typed": (_SPACES if group in _SPACES else _APOSTROPHES if group in _APOSTROPHES
                            else frozenset(group))}


_MARK_NAMES = {",": "comma", ".": "point", "'": "apostrophe", "\u2019": "apostrophe"}


def _mark_name(mark: str) -> str:
    if mark in _SPACES:
        return _("space")
    return {"comma": _("comma"), "point": _("point"), "apostrophe": _("apostrophe")}.get(
        _MARK_NAMES.get(mark, ""), mark)


def expected_format(locale: str | None = None) -> str:
    locale = locale or active_locale()
    m = marks(locale)
    example = format_input(Decimal("1234.56"), locale)
    return _("Type numbers as %(example)s: %(decimal)s before the decimals, %(group)s between "
             "thousands (optional), no currency.") % {
        "example": example, "decimal": _mark_name(m["decimal"]), "group": _mark_name(m["group"])}


def _grouped_ok(parts: list[str], primary: int, secondary: int) -> bool:
    """'1,234,567' split at the marks: the last group has `primary` digits, the ones before it
    `secondary`, the first 1..secondary (1..primary when it is the only other one)."""
    if any(not p.isdigit() for p in parts):
        return False
    *head, last = parts
    if len(last) != primary:
        return False
    if not head:
        return True
    *middle, first = head[::-1]
    return all(len(p) == secondary for p in middle) and 1 <= len(first) <= secondary


def parse_number(raw, locale: str | None = None) -> Decimal | None:
    """Text typed by a person → Decimal; blank → None. Accepts the locale's decimal mark and its
    group mark (only in correct groups, so '1,5' in English or '1.5' in German is refused as
    ambiguous rather than read as 15), a leading minus or plus. Raises NumberInputError with a
    message naming the expected format."""
    if isinstance(raw, Decimal):
        return raw
    text = str(raw if raw is not None else "").strip()
    if text == "":
        return None
    locale = locale or active_locale()
    m = marks(locale)
    sign = ""
    if text[0] in _MINUS or text[0] == m["minus"] or text[0] == "+":
        sign = "-" if text[0] != "+" else ""
        text = text[1:].lstrip()
    whole, dec_mark, frac = text.partition(m["decimal"])
    if m["decimal"] in m["group_typed"]:  # no locale does this; refuse rather than guess
        raise NumberInputError(expected_format(locale))
    ok = (frac.isdigit() or (frac == "" and not dec_mark) or (frac == "" and whole != "")) and (
        whole != "" or frac != "")
    if ok and whole:
        group_marks = [c for c in whole if not c.isdigit()]
        if group_marks:
            ok = all(c in m["group_typed"] for c in group_marks) and len(set(group_marks)) == 1
            ok = ok and _grouped_ok(whole.split(group_marks[0]), *m["grouping"])
            whole = re.sub(r"\D", "", whole)
        ok = ok and whole.isascii() and whole.isdigit()
    if not ok or not (frac == "" or frac.isascii()):
        raise NumberInputError(expected_format(locale))
    try:
        value = Decimal(f"{sign}{whole or '0'}.{frac or '0'}" if frac else f"{sign}{whole}")
    except InvalidOperation as e:  # pragma: no cover - the checks above leave only digits
        raise NumberInputError(expected_format(locale)) from e
    return value


def format_input(value: Decimal, locale: str | None = None, grouped: bool = True) -> str:
    """A Decimal as a form input shows it: the locale's marks, its decimals as they are (700.00
    stays 700.00), an ASCII minus: what parse_number reads back exactly."""
    locale = locale or active_locale()
    m = marks(locale)
    whole, point, frac = f"{abs(value):f}".partition(".")
    if grouped:
        whole = _group(whole, *m["grouping"], m["group"])
    return ("-" if value < 0 else "") + whole + (m["decimal"] + frac if point else "")


def _group(digits: str, primary: int, secondary: int, mark: str) -> str:
    parts, size = [], primary
    while len(digits) > size:
        parts.append(digits[-size:])
        digits, size = digits[:-size], secondary
    parts.append(digits)
    return mark.join(reversed(parts))


def localize_marks(text: str, locale: str | None = None) -> str:
    """An English-formatted unsigned number ('1,234.50') in the locale's marks and group sizes."""
    m = marks(locale or active_locale())
    if m["decimal"] == "." and m["group"] == "," and m["grouping"] == (3, 3):
        return text
    whole, point, frac = text.partition(".")
    whole = _group(whole.replace(",", ""), *m["grouping"], m["group"])
    return whole + (m["decimal"] + frac if point else "")


def format_day(value, locale: str | None = None) -> str:
    """The one way a date is shown to people (pages, PDFs, e-mails): CLDR's medium date."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime):
        from django.utils import timezone

        if timezone.is_aware(value):
            value = timezone.localtime(value)
        value = value.date()
    if not isinstance(value, date):
        return str(value)
    return format_date(value, format="medium", locale=locale or active_locale())


def js_marks(locale: str | None = None) -> dict:
    """What static/js/amount.js needs to read and write numbers like parse_number does."""
    m = marks(locale or active_locale())
    return {"decimal": m["decimal"], "group": m["group"], "grouping": f"{m['grouping'][0]},{m['grouping'][1]}",
            "expected": expected_format(locale)}
