"""Which currencies exist, from Babel's CLDR data (maintained upstream, not a hand list).

Active = legal tender today in at least one territory (CLDR's territory_currencies without an end
date). A code that was tender once and is tender nowhere now is *withdrawn* (HRK, SLL, VEF …): it is
refused by name with its last day. Minor units are CLDR's `digits` (what people and invoices write:
JPY 0, KWD 3; CLDR writes 0 for IQD and IDR where ISO still lists 2-3 decimals nobody uses). The
columns hold 3 decimals, so nothing with more is ever active (CLF/UYW are funds codes, not tender).
"""

from __future__ import annotations

import datetime
from functools import lru_cache

from babel.core import get_global
from babel.numbers import get_currency_name


class UnknownCurrency(ValueError):
    pass


@lru_cache(maxsize=1)
def _tables() -> tuple[frozenset[str], dict[str, datetime.date]]:
    active: set[str] = set()
    ended: dict[str, datetime.date] = {}
    for rows in get_global("territory_currencies").values():
        for code, _start, end, tender in rows:
            if not tender:
                continue
            if end is None:
                active.add(code)
            else:
                day = datetime.date(*end)
                ended[code] = max(day, ended.get(code, day))
    withdrawn = {code: day for code, day in ended.items() if code not in active}
    return frozenset(active), withdrawn


def active_codes() -> list[str]:
    return sorted(_tables()[0])


def is_active(code: str) -> bool:
    return code in _tables()[0]


def withdrawn_on(code: str) -> datetime.date | None:
    return _tables()[1].get(code)


def minor_units(code: str) -> int:
    """Decimals of the currency (CLDR `digits`; 2 where CLDR says nothing)."""
    fractions = get_global("currency_fractions")
    return fractions.get(code, fractions["DEFAULT"])[0]


def currency_name(code: str, locale: str = "en") -> str:
    return get_currency_name(code, locale=locale)


def validate_code(code: str) -> str:
    """The code, upper-cased, or UnknownCurrency with a message that says why."""
    code = (code or "").strip().upper()
    if is_active(code):
        return code
    ended = withdrawn_on(code)
    if ended:
        raise UnknownCurrency(f"{code} was withdrawn (last legal tender {ended.isoformat()}); use its successor.")
    raise UnknownCurrency(f"“{code}” is not an active ISO 4217 currency code.")


@lru_cache(maxsize=32)
def choices(locale: str = "en") -> list[tuple[str, str]]:
    """Form choices "EUR — Euro", sorted by code (people type the code to jump in a select)."""
    return [(c, f"{c} — {currency_name(c, locale)}") for c in active_codes()]
