"""How people write numbers and dates, per organization locale (issue 21). One home for:

- `parse_number(raw)`: the one parser of every amount, quantity and percent typed into a form
  (accounts.forms_fields.AmountField uses it; static/js/amount.js mirrors it for the live previews);
- the marks `format_amount` writes (accounts.money) and form inputs show;
- `format_day(d)`: the one display of a date on pages, PDFs and e-mails. Machine exports keep ISO.

The locale is the organization's (`Organization.locale`), read from the request's / task's
current organization; without one, DEFAULT_LOCALE. Babel (CLDR data) supplies the marks.
"""

import re
from contextlib import contextmanager
from contextvars import ContextVar
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


def plain(value: Decimal) -> str:
    """A number in machine form, without trailing zeros and in no locale: 1.000 → 1, 12.5000 → 12.5,
    100 → 100 (the API, e-invoices, imports' exports, quantities and percentages on PDFs)."""
    return f"{value.normalize():f}"


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
    """The one way a date is shown to people (pages, PDFs, e-mails): CLDR's medium date, in the
    organization's format, or in a reader's language while a document is rendered for one
    (`in_language`: "21.12.2026" de, "21 déc. 2026" fr)."""
    locale = locale or reader_date_locale()
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


def reader_date_locale() -> str | None:
    """The Babel locale dates are shown in for the reader a document is rendered for (`in_language`,
    or a plain translation.override), None when that is the house English: then the organization's
    format applies. Callers that name the organization's locale write
    `format_day(d, reader_date_locale() or org.locale)`."""
    from accounts.money import HOUSE_LOCALE, babel_locale, reader_locale

    reader = reader_locale()
    if reader is not None and babel_locale(reader) != HOUSE_LOCALE:
        return babel_locale(reader)
    return None


def js_marks(locale: str | None = None) -> dict:
    """What static/js/amount.js needs to read and write numbers like parse_number does."""
    m = marks(locale or active_locale())
    return {"decimal": m["decimal"], "group": m["group"], "grouping": f"{m['grouping'][0]},{m['grouping'][1]}",
            "expected": expected_format(locale)}


# ---- The customer's language (issue 17 item 6) -------------------------------------------------
# Documents (invoice, credit note, quote, receipt, statement PDFs), e-mails (documents, reminders,
# statements) and the public page / portal are rendered in the reader's language:
#
#     with in_language(document_language(customer)):
#         render...
#
# which activates the translation catalog and makes accounts.money.format_money and format_day lay
# amounts and dates out in that language's CLDR conventions. The interface language of a signed-in
# user (ledger_site.language) never changes how amounts look on pages: that is the organization's
# number format.

# Languages with complete customer-facing translations (settings.LANGUAGES lists the same).
DOCUMENT_LANGUAGES = ("en", "de", "fr", "es", "hi")
# Regional variants a customer may be set to: the catalog of the language, the variant's CLDR
# conventions (en-in: "₹1,23,456.00", "21 Dec 2026").
REGIONAL_LANGUAGES = ("en-in", "en-gb", "en-us", "de-at", "de-ch", "fr-be", "fr-ch", "es-mx")

_reader: ContextVar = ContextVar("ledgerline_reader_language", default=None)
_interface: ContextVar = ContextVar("ledgerline_interface_language", default=None)


def supported_language(code: str | None) -> str | None:
    """A stored language code ("de", "fr-CH", "en_IN") as the code documents are rendered in, or
    None when there is no translation for it ("it", "", "xx")."""
    code = (code or "").strip().lower().replace("_", "-")
    if not code:
        return None
    if code in REGIONAL_LANGUAGES or code in DOCUMENT_LANGUAGES:
        return code
    base = code.split("-")[0]
    return base if base in DOCUMENT_LANGUAGES else None


def organization_language(org) -> str:
    """The organization's default language for documents: the language of its number and date
    format (Organization.locale "de_DE" → "de"), else English."""
    locale = (getattr(org, "locale", None) or DEFAULT_LOCALE).replace("_", "-").lower()
    return supported_language(locale.split("-")[0]) or "en"


def document_language(customer=None, org=None) -> str:
    """The language a customer's documents, e-mails and public pages are in: the customer's own
    (Customer.language) when it is translated, else the organization's default."""
    own = supported_language(getattr(customer, "language", None))
    if own:
        return own
    if org is None and customer is not None:
        from ledger_site.tenancy import organization_of

        org = organization_of(customer)
    return organization_language(org)


def catalog_language(language: str) -> str:
    """"en-in" → "en": the catalog a regional variant reads."""
    return (supported_language(language) or "en").split("-")[0]


@contextmanager
def in_language(language: str | None):
    """Render for a reader: the translations of `language` and its CLDR layout of amounts and
    dates (accounts.money.reader_locale) inside the block."""
    from django.utils import translation

    language = supported_language(language) or "en"
    token = _reader.set(language)
    try:
        with translation.override(language):
            yield language
    finally:
        _reader.reset(token)


def reader_language() -> str | None:
    """The language of the reader a document is being rendered for (`in_language`), else None."""
    return _reader.get()


@contextmanager
def interface_language(language: str):
    """The signed-in user's interface language for a request (ledger_site.language): translated
    texts, but amounts and dates in the organization's format, not a reader's."""
    from django.utils import translation

    token = _interface.set(language)
    try:
        with translation.override(language):
            yield language
    finally:
        _interface.reset(token)


def current_interface_language() -> str | None:
    return _interface.get()
