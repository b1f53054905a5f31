"""Exchange rates, one home (issue 17): looking a rate up, converting to the base currency, checking
and saving rates (by hand, from a file, from the scheduled fetch), and reading the ECB's and generic
rate files.

A rate is how many units of the organization's base currency one unit of the currency is worth on a
day. The rate of a day is the latest one on or before it, no older than FX_RATE_MAX_AGE_DAYS (the ECB
publishes no rates at weekends and on TARGET holidays); otherwise MissingRate names the currency and
the day and the caller posts nothing. Conversions round once, per the base currency's minor unit
(accounts.money.round_money, the one rounding rule).

Saving is all or nothing: every row is checked first (active currency, not the base, a positive and
not absurd rate, not a jump beyond FX_RATE_JUMP_FACTOR from the previous rate unless confirmed), and
only a clean batch is written, in one transaction.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import io
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.conf import settings
from django.db import transaction

from accounts import currencies
from accounts.models_fx import ExchangeRate, RateSource
from accounts.money import round_money

ONE = Decimal(1)
# Outside these bounds a rate is a typing or unit mistake (a rate of 0.000000001 or 10⁹ base units).
MIN_RATE = Decimal("1e-9")
MAX_RATE = Decimal("1e9")
RATE_PLACES = Decimal("1e-12")  # the column's 12 decimals


class RateError(ValueError):
    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or [message]


class MissingRate(RateError):
    def __init__(self, currency: str, day: datetime.date, base: str):
        super().__init__(f"There is no {currency} exchange rate for {day.isoformat()} (nor in the "
                         f"{max_age_days()} days before it): enter the {currency}→{base} rate of that day "
                         "under Settings → Exchange rates. Nothing was posted.")
        self.currency, self.day = currency, day


class RateNeedsConfirmation(RateError):
    """Every other check passed; some rates moved more than the configured factor."""


def jump_factor() -> Decimal:
    return Decimal(str(getattr(settings, "FX_RATE_JUMP_FACTOR", "1.5")))


def max_age_days() -> int:
    return int(getattr(settings, "FX_RATE_MAX_AGE_DAYS", 7))


# --------------------------------------------------------------------------- lookup

def rate_on(org, currency: str, day: datetime.date) -> Decimal:
    if currency == org.base_currency:
        return ONE
    found = (ExchangeRate.objects.filter(organization=org, currency=currency, day__lte=day,
                                         day__gte=day - datetime.timedelta(days=max_age_days()))
             .order_by("-day").values_list("rate", flat=True).first())
    if found is None:
        raise MissingRate(currency, day, org.base_currency)
    return found


def rate_series(org, currency: str, start: datetime.date, end: datetime.date):
    """day → rate for every day in [start, end] (one query): what rate_on would answer for each."""
    if currency == org.base_currency:
        return lambda day: ONE
    rows = list(ExchangeRate.objects.filter(organization=org, currency=currency,
                                            day__gte=start - datetime.timedelta(days=max_age_days()), day__lte=end)
                .order_by("day").values_list("day", "rate"))

    days = [when for when, _rate in rows]

    def lookup(day):  # the latest rate on or before the day, by bisection (a year of flows asks daily)
        at = bisect.bisect_right(days, day)
        found = rows[at - 1] if at else None
        if found is None or (day - found[0]).days > max_age_days():
            raise MissingRate(currency, day, org.base_currency)
        return found[1]

    return lookup


def all_rates(org):
    """(currency, day) → rate for any currency and day, answered as rate_on would from every rate of
    the organization read once (one query): for the bulk door, which may not query while it streams."""
    import bisect

    series: dict[str, tuple[list, list]] = {}
    for code, when, rate in (ExchangeRate.objects.filter(organization=org).order_by("currency", "day")
                             .values_list("currency", "day", "rate")):
        days, rates = series.setdefault(code, ([], []))
        days.append(when)
        rates.append(rate)
    age = max_age_days()

    def lookup(currency, day):
        if currency == org.base_currency:
            return ONE
        days, rates = series.get(currency, ((), ()))
        at = bisect.bisect_right(days, day) - 1
        if at < 0 or (day - days[at]).days > age:
            raise MissingRate(currency, day, org.base_currency)
        return rates[at]

    return lookup


def rate_text(rate: Decimal | None) -> str:
    """A rate as people read it: 0.921659, 150, 0.00615 (no exponent, no trailing zeros)."""
    if rate is None:
        return ""
    text = format(rate.normalize(), "f")
    return text


def to_base(org, amount: Decimal, currency: str, day: datetime.date, rate: Decimal | None = None) -> Decimal:
    """`amount` in the base currency at the day's rate (or the one given), rounded once."""
    rate = rate_on(org, currency, day) if rate is None else rate
    return round_money(amount * rate, org.base_currency)


# --------------------------------------------------------------------------- report figures in base

def report_rates(org, currencies_used, day: datetime.date) -> dict[str, Decimal]:
    """The rate of each currency on a report's day (rate_on: 1 for the base currency), in code order
    with the base first; MissingRate names the first currency without a rate of that day."""
    ordered = sorted(set(currencies_used) | {org.base_currency}, key=lambda c: (c != org.base_currency, c))
    return {code: rate_on(org, code, day) for code in ordered}


def sum_in_base(amounts: dict[str, Decimal], rates: dict[str, Decimal], base: str) -> Decimal:
    """A report figure of several currencies in the base currency: each currency's own total at its
    rate of the report's day, rounded once per currency (round_money), then added. Used by the DSO and
    the forecast in base (reports.dso, reports.forecast); the aging rounds per group (reports.aging.CONVERTED)."""
    return sum((round_money(amount * rates[code], base) for code, amount in amounts.items()), Decimal(0))


def cross_rate(org, currency: str, into: str, day: datetime.date) -> Decimal:
    """Units of `into` one unit of `currency` is worth on the day, through the base currency (both
    rates of the day; 1 for the base itself), to the rates' 12 places. MissingRate names the first
    currency without a rate of its day."""
    if currency == into:
        return ONE
    return (rate_on(org, currency, day) / rate_on(org, into, day)).quantize(RATE_PLACES)


def check_entered_rate(rate, currency: str, into: str, usual: Decimal | None = None,
                       confirm: bool = False) -> Decimal:
    """A conversion rate typed by a person (units of `into` per unit of `currency`): a number above zero,
    not absurd, and, unless confirmed, not more than FX_RATE_JUMP_FACTOR away from the usual rate of the
    day when there is one (RateNeedsConfirmation). Returns it to the rates' 12 places."""
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise RateError(f"The {currency}→{into} rate is not a number.")
    if rate <= 0:
        raise RateError(f"The {currency}→{into} rate must be above zero, not {rate}.")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise RateError(f"The {currency}→{into} rate {rate} is absurd (between {MIN_RATE} and {MAX_RATE:,} "
                        f"{into} per {currency}).")
    if usual is not None and not confirm:
        ratio = rate / usual
        if ratio > jump_factor() or ratio < 1 / jump_factor():
            raise RateNeedsConfirmation(
                f"The {currency}→{into} rate {rate.normalize()} is more than {jump_factor()}× away from the rate "
                f"of the day ({usual.normalize()}): check it and confirm.")
    return rate.quantize(RATE_PLACES)


# --------------------------------------------------------------------------- checking and saving

@dataclass(frozen=True)
class RateRow:
    day: datetime.date
    currency: str
    rate: Decimal
    line: int | None = None  # where it came from in a file, for messages


def _where(row: RateRow) -> str:
    return f"line {row.line}: " if row.line else ""


def check_rows(org, rows: list[RateRow], confirm: bool = False) -> list[RateRow]:
    """The rows, cleaned, or RateError listing every problem (RateNeedsConfirmation when jumps are all)."""
    if not rows:
        raise RateError("The file has no rates.")
    problems, jumps, clean = [], [], []
    for row in rows:
        try:
            code = currencies.validate_code(row.currency)
        except currencies.UnknownCurrency as e:
            problems.append(f"{_where(row)}{e}")
            continue
        if code == org.base_currency:
            problems.append(f"{_where(row)}{code} is the base currency: its rate is always 1.")
            continue
        if not isinstance(row.rate, Decimal) or not row.rate.is_finite():
            problems.append(f"{_where(row)}the {code} rate is not a number.")
            continue
        if row.rate <= 0:
            problems.append(f"{_where(row)}the {code} rate of {row.day.isoformat()} must be above zero, "
                            f"not {row.rate}.")
            continue
        if not MIN_RATE <= row.rate <= MAX_RATE:
            problems.append(f"{_where(row)}the {code} rate {row.rate} of {row.day.isoformat()} is absurd "
                            f"(a rate is base-currency units per one {code}, between {MIN_RATE} and {MAX_RATE:,}).")
            continue
        clean.append(RateRow(row.day, code, row.rate.quantize(RATE_PLACES), row.line))
    if problems:
        raise RateError(f"{len(problems)} problem(s); nothing was saved.", problems)
    if not confirm:
        jumps = _jumps(org, clean)
        if jumps:
            raise RateNeedsConfirmation(
                f"{len(jumps)} rate(s) move more than {jump_factor()}× from the previous rate: check and confirm.",
                jumps)
    return clean


def _jumps(org, rows: list[RateRow]) -> list[str]:
    factor = jump_factor()
    jumps = []
    batch: dict[str, list[RateRow]] = {}
    for row in sorted(rows, key=lambda r: (r.currency, r.day)):
        batch.setdefault(row.currency, []).append(row)
    for code, series in batch.items():
        previous = (ExchangeRate.objects.filter(organization=org, currency=code, day__lt=series[0].day)
                    .order_by("-day").values_list("day", "rate").first())
        for row in series:
            if previous and previous[1] > 0:
                ratio = row.rate / previous[1]
                if ratio > factor or ratio < 1 / factor:
                    jumps.append(f"{_where(row)}{code} {row.day.isoformat()}: {row.rate.normalize()} against "
                                 f"{previous[1].normalize()} on {previous[0].isoformat()}.")
            previous = (row.day, row.rate)
    return jumps


def save_rates(org, rows: list[RateRow], source: str, user=None, confirm: bool = False) -> int:
    clean = check_rows(org, rows, confirm=confirm)
    with transaction.atomic():
        for row in clean:
            ExchangeRate.objects.update_or_create(
                organization=org, currency=row.currency, day=row.day,
                defaults={"rate": row.rate, "source": source, "entered_by": user})
    return len(clean)


# --------------------------------------------------------------------------- files

ECB_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


@dataclass
class ParsedFile:
    rows: list[RateRow]
    source: str
    skipped: list[str]  # withdrawn currencies an ECB history names (CYP, EEK …): not an error there


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() else None


def _from_euro_quotes(days: dict[datetime.date, dict[str, Decimal]], base: str) -> ParsedFile:
    """ECB quotes (units of C per one EUR) as rates to `base`: base per C = q(base) / q(C)."""
    rows, skipped = [], set()
    for day, quotes in sorted(days.items()):
        quotes = {**quotes, "EUR": ONE}
        if base not in quotes:
            raise RateError(f"The file has no {base} rate for {day.isoformat()}, so its euro rates cannot be "
                            f"turned into rates to {base}.")
        for code, quote in sorted(quotes.items()):
            if code == base:
                continue
            if not currencies.is_active(code):
                skipped.add(code)
                continue
            rate = quotes[base] / quote if quote > 0 else quote
            rows.append(RateRow(day, code, rate))
    return ParsedFile(rows, RateSource.ECB, sorted(skipped))


def parse_ecb_xml(data: bytes, base: str) -> ParsedFile:
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as e:
        raise RateError(f"This is not a readable XML file ({e}).") from None
    days: dict[datetime.date, dict[str, Decimal]] = {}
    for cube in root.iter(f"{ECB_NS}Cube"):
        when = cube.get("time")
        if when is None:
            continue
        try:
            day = datetime.date.fromisoformat(when)
        except ValueError:
            raise RateError(f"The ECB file has a day “{when}” that is not a date.") from None
        quotes = days.setdefault(day, {})
        for child in cube:
            code, value = (child.get("currency") or "").upper(), _decimal(child.get("rate") or "")
            if value is None:
                raise RateError(f"The ECB file's {code} rate of {day.isoformat()} is not a number.")
            quotes[code] = value
    if not days:
        raise RateError("This XML file is not the ECB's euro reference rates (eurofxref): no dated Cube found.")
    return _from_euro_quotes(days, base)


def parse_csv(data: bytes, base: str) -> ParsedFile:
    """Generic: columns date, currency, rate (base units per one currency unit), one rate a row.
    ECB's CSV (eurofxref.csv / eurofxref-hist.csv): Date, then one column per currency, per EUR."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RateError("The file is not UTF-8 text: upload the ECB's XML or CSV, or a CSV with the columns "
                        "date, currency, rate.") from None
    table = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    if not table:
        raise RateError("The file is empty.")
    header = [h.lower() for h in table[0]]
    if header[:3] == ["date", "currency", "rate"]:
        rows = []
        for n, cells in enumerate(table[1:], start=2):
            if len(cells) < 3:
                raise RateError(f"Line {n} has {len(cells)} column(s); expected date, currency, rate.")
            try:
                day = datetime.date.fromisoformat(cells[0])
            except ValueError:
                raise RateError(f"Line {n}: “{cells[0]}” is not a date (YYYY-MM-DD).") from None
            rate = _decimal(cells[2])
            if rate is None:
                raise RateError(f"Line {n}: the rate “{cells[2]}” is not a number.")
            rows.append(RateRow(day, cells[1].upper(), rate, n))
        return ParsedFile(rows, RateSource.CSV, [])
    if header and header[0] == "date" and len(header) > 1:
        codes = [h.upper() for h in table[0][1:]]
        days: dict[datetime.date, dict[str, Decimal]] = {}
        for n, cells in enumerate(table[1:], start=2):
            try:
                day = datetime.date.fromisoformat(cells[0])
            except ValueError:
                try:
                    day = datetime.datetime.strptime(cells[0], "%d %B %Y").date()  # eurofxref.csv: "05 December 2026"
                except ValueError:
                    raise RateError(f"Line {n}: “{cells[0]}” is not a date.") from None
            quotes = {}
            for code, cell in zip(codes, cells[1:], strict=False):
                if code and cell and cell.upper() != "N/A":
                    value = _decimal(cell)
                    if value is None:
                        raise RateError(f"Line {n}: the {code} rate “{cell}” is not a number.")
                    quotes[code] = value
            days[day] = quotes
        return _from_euro_quotes(days, base)
    raise RateError("Unknown rates file: expected the ECB's eurofxref XML or CSV, or a CSV whose first line is "
                    "date,currency,rate. Nothing was saved.")


def parse_file(data: bytes, base: str) -> ParsedFile:
    if data.lstrip()[:1] == b"<":
        return parse_ecb_xml(data, base)
    return parse_csv(data, base)


def fetch(url: str, timeout: float = 20) -> bytes:
    """The rates file at the configured URL (http or https only; no file://)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise RateError(f"FX_RATES_URL must be an http(s) address, not {url!r}.")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
        return response.read(20_000_000)
