"""Days sales outstanding (issue 20): three standard formulas, per period and as of any day.

Inputs, all per currency and all "as they stood at the end of the as-of day":

* AR(d) — the Accounts receivable control account's balance at the end of day d (the general
  ledger's day totals): open invoices less unapplied payments and credit notes;
* credit sales S(a..b) — totals of invoices issued from a to b that had not been voided by the
  period's end (reports_dailyflow by issue day, plus invoices voided only after the period's end,
  which were still sales then). Credit notes do not reduce sales: DSO measures invoicing.
* days N — calendar days of the period, both ends included (a period to date ends on the as-of
  day).

Formulas (each None with a reason when it cannot be computed):

* period-end DSO = AR(end) / S(period) × N;
* average-balance DSO = (AR(day before start) + AR(end)) / 2 / S(period) × N;
* count-back DSO = walk back from the end month by month (the as-of month to date first, then
  whole calendar months), taking each month's sales off AR(end) while AR remains: whole months
  add their days; the month where AR runs out adds days × (AR left / that month's sales). It does
  not depend on the period's sales, so it stays meaningful when sales stop or swing;
* best-possible DSO = current AR(end) / S(period) × N, current AR = open invoice amounts not yet
  due at the end (due on or after the end day; the aging's "Current" bucket): the DSO if every
  customer paid on time.

DSO is rounded to 0.1 day, half up; the inputs are shown unrounded on the page.
"""

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Min
from django.utils.translation import gettext as _

from accounts import fx
from accounts.chart import system_account
from accounts.models import AccountDayTotal
from accounts.models_org import today_in
from invoicing.models import Invoice
from reports.asof import ZERO, items_cte, org_currencies, report_cursor
from reports.models import DailyFlow

PERIOD_END, AVERAGE, COUNT_BACK = "period_end", "average", "count_back"
FORMULAS = {
    PERIOD_END: "Period-end balance",
    AVERAGE: "Average balance",
    COUNT_BACK: "Count-back",
}
KINDS = ("month", "quarter", "year", "days90")
TENTH = Decimal("0.1")
# Issue 17: every currency together, in the base currency, each converted at the as-of day's rate
# (accounts.fx.report_rates, sum_in_base): AR, sales and the not-yet-due part alike, so the ratio of
# a single foreign currency is its own DSO. The page prints the rates and their day.
ALL = "*"


def rounded(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(TENTH, ROUND_HALF_UP)


class Unavailable(ValueError):
    """A figure that cannot be computed for this input; the message says why (shown on the page)."""


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after day's month (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start(kind: str, day: date) -> date:
    if kind == "month":
        return day.replace(day=1)
    if kind == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if kind == "year":
        return date(day.year, 1, 1)
    if kind == "days90":
        return day - timedelta(days=89)
    raise ValueError(kind)


def period_label(kind: str, start: date) -> str:
    if kind == "month":
        return start.strftime("%b %Y")
    if kind == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if kind == "year":
        return str(start.year)
    return f"90 days to {start + timedelta(days=89):%d %b %Y}"


@dataclass
class History:
    """Everything DSO needs for one currency up to the as-of day, read in four small queries."""

    org: object
    currency: str
    as_of: date
    books_start: date | None
    ar_days: list[date] = field(default_factory=list)
    ar_running: list[Decimal] = field(default_factory=list)
    sale_days: list[date] = field(default_factory=list)
    sale_running: list[Decimal] = field(default_factory=list)
    voided: list[tuple[date, date, Decimal]] = field(default_factory=list)  # issue day, void day, total
    rates: dict[str, Decimal] | None = None  # in base (ALL): each currency's rate of the as-of day

    def sales_to(self, day: date) -> Decimal:
        """Invoiced up to the end of day (the running total)."""
        i = bisect_right(self.sale_days, day)
        return self.sale_running[i - 1] if i else ZERO

    def ar(self, day: date) -> Decimal:
        """AR at the end of day."""
        i = bisect_right(self.ar_days, day)
        return self.ar_running[i - 1] if i else ZERO

    def sales(self, start: date, end: date, seen_at: date | None = None) -> Decimal:
        """Invoiced from start to end, as it stood at the end of seen_at (default: end)."""
        seen_at = seen_at or end
        hi, lo = bisect_right(self.sale_days, end), bisect_right(self.sale_days, start - timedelta(days=1))
        total = (self.sale_running[hi - 1] if hi else ZERO) - (self.sale_running[lo - 1] if lo else ZERO)
        return total + sum((t for issued, voided, t in self.voided if start <= issued <= end and voided > seen_at),
                           ZERO)


def books_start(org) -> date | None:
    """The first day anything was posted in the organization's ledger."""
    return AccountDayTotal.objects.filter(organization=org).aggregate(d=Min("day"))["d"]


def check_as_of(org, as_of: date, start: date | None = None) -> date:
    """The books' first day, or Unavailable saying why nothing can be computed as of that day."""
    first = books_start(org)
    today = today_in(org)
    if first is None:
        raise Unavailable(_("Nothing has been posted yet, so there is nothing to measure."))
    if as_of > today:
        raise Unavailable(_("%(d)s is in the future (today is %(t)s): figures exist only up to today.")
                          % {"d": as_of.isoformat(), "t": today.isoformat()})
    if as_of < first:
        raise Unavailable(_("%(d)s is before the books start (first posting dated %(f)s).")
                          % {"d": as_of.isoformat(), "f": first.isoformat()})
    return first


def as_of_note(org, as_of: date) -> str:
    """What the aging and the open items say about a day they cannot show as a fact: before the books
    start (nothing was owed yet) or after today (only what is known today). Empty for any other day."""
    today = today_in(org)
    if as_of > today:
        return _("%(d)s is after today (%(t)s): this is what is known today (documents dated up to that day), "
                 "aged as of that day; payments still to come are not in it.") % {
            "d": as_of.isoformat(), "t": today.isoformat()}
    if as_of == today:  # today's page needs no statement (and no query): an empty book says "nothing owed"
        return ""
    first = books_start(org)
    if first is None:
        return _("Nothing has been posted yet, so nothing is owed.")
    if as_of < first:
        return _("%(d)s is before the books start (first posting dated %(f)s): nothing was owed then, so there "
                 "is nothing to show.") % {"d": as_of.isoformat(), "f": first.isoformat()}
    return ""


def load(org, currency: str, as_of: date) -> History:
    if currency == ALL:
        return load_in_base(org, as_of)
    first = check_as_of(org, as_of)
    h = History(org=org, currency=currency, as_of=as_of, books_start=first)
    running = ZERO
    for day, amount in (AccountDayTotal.objects.filter(account=system_account(org, "ar"), currency=currency,
                                                       day__lte=as_of).order_by("day").values_list("day", "amount")):
        running += amount
        h.ar_days.append(day)
        h.ar_running.append(running)
    running = ZERO
    for day, invoiced in (DailyFlow.objects.filter(organization=org, currency=currency, day__lte=as_of)
                          .exclude(invoiced=0).order_by("day").values_list("day", "invoiced")):
        running += invoiced
        h.sale_days.append(day)
        h.sale_running.append(running)
    # Voided invoices are not in the daily flow at all; until their void they were sales.
    h.voided = list(Invoice.objects.filter(organization=org, currency=currency, void_entry__isnull=False,
                                           issue_date__lte=as_of)
                    .values_list("issue_date", "void_entry__effective_date", "total"))
    return h


def load_in_base(org, as_of: date) -> History:
    """Every currency's history merged into the base currency at the as-of day's rates; Unavailable
    naming the currency and day when a rate is missing."""
    first = check_as_of(org, as_of)
    try:
        rates = fx.report_rates(org, org_currencies(org), as_of)
    except fx.MissingRate as e:
        raise Unavailable(e.message.replace(" Nothing was posted.", "")) from e
    base = org.base_currency
    parts = {code: load(org, code, as_of) for code in rates}
    h = History(org=org, currency=base, as_of=as_of, books_start=first, rates=rates)
    h.ar_days = sorted({day for part in parts.values() for day in part.ar_days})
    h.ar_running = [fx.sum_in_base({c: p.ar(day) for c, p in parts.items()}, rates, base) for day in h.ar_days]
    h.sale_days = sorted({day for part in parts.values() for day in part.sale_days})
    h.sale_running = [fx.sum_in_base({c: p.sales_to(day) for c, p in parts.items()}, rates, base)
                      for day in h.sale_days]
    h.voided = [(issued, voided, fx.sum_in_base({c: total}, rates, base))
                for c, p in parts.items() for issued, voided, total in p.voided]
    return h


def current_ar_of(h: History, day: date) -> Decimal:
    """The not-yet-due part of AR at the end of day, in the history's currency (or in base)."""
    if h.rates is None:
        return current_ar(h.org, h.currency, day)
    return fx.sum_in_base({c: current_ar(h.org, c, day) for c in h.rates}, h.rates, h.currency)


def current_ar(org, currency: str, day: date) -> Decimal:
    """Open invoice amounts at the end of day that are not yet due (due on or after day)."""
    cte, params = items_cte(org.pk, day)
    params["cur"] = currency
    with report_cursor() as cursor:
        cursor.execute("WITH " + cte + " SELECT coalesce(sum(amount), 0) FROM items "  # noqa: S608 - constants
                       "WHERE kind = 'i' AND currency = %(cur)s AND due_date >= %(d)s AND amount <> 0", params)
        return cursor.fetchone()[0]


@dataclass
class CountBackStep:
    start: date
    end: date
    days: int
    sales: Decimal
    ar_before: Decimal  # AR still to explain when this month is reached
    days_used: Decimal


@dataclass
class Dso:
    currency: str
    start: date
    end: date
    sales: Decimal
    ar_open: Decimal
    ar_close: Decimal
    current: Decimal | None = None  # not-yet-due part of AR(end), when asked for
    label: str = ""
    steps: list[CountBackStep] = field(default_factory=list)
    count_back_raw: Decimal | None = None
    count_back_reason: str = ""
    rates: dict[str, Decimal] | None = None  # in base (ALL): the as-of day's rates used

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def average_ar(self) -> Decimal:
        return (self.ar_open + self.ar_close) / 2

    @property
    def no_sales_reason(self) -> str:
        return _("No credit sales from %(s)s to %(e)s: this formula divides by sales.") % {
            "s": self.start.isoformat(), "e": self.end.isoformat()} if self.sales <= 0 else ""

    def _per_sales(self, amount: Decimal) -> Decimal | None:
        return None if self.sales <= 0 else rounded(amount / self.sales * self.days)

    @property
    def period_end(self) -> Decimal | None:
        return self._per_sales(self.ar_close)

    @property
    def average(self) -> Decimal | None:
        return self._per_sales(self.average_ar)

    @property
    def count_back(self) -> Decimal | None:
        return rounded(self.count_back_raw)

    @property
    def best(self) -> Decimal | None:
        return None if self.current is None else self._per_sales(self.current)

    def value(self, formula: str) -> Decimal | None:
        return {PERIOD_END: self.period_end, AVERAGE: self.average, COUNT_BACK: self.count_back}[formula]

    def reason(self, formula: str) -> str:
        return self.count_back_reason if formula == COUNT_BACK else self.no_sales_reason

    @property
    def months_used(self) -> int:
        return len(self.steps)


def count_back(h: History, end: date) -> tuple[Decimal | None, list[CountBackStep], str]:
    remaining = h.ar(end)
    steps: list[CountBackStep] = []
    if remaining <= 0:
        return ZERO, steps, ""
    if h.books_start is None:  # the walk needs somewhere to stop
        return None, steps, _("Nothing has been posted yet, so there is nothing to measure.")
    chunk_end, total = end, ZERO
    while True:
        chunk_start = chunk_end.replace(day=1)
        if chunk_end < h.books_start:
            return None, steps, _("Receivables at %(e)s (%(ar)s) are more than everything invoiced since the "
                                  "books start (%(f)s): count-back cannot reach them.") % {
                "e": end.isoformat(), "ar": h.ar(end), "f": h.books_start.isoformat()}
        days = (chunk_end - chunk_start).days + 1
        sales = h.sales(chunk_start, chunk_end, seen_at=end)
        if sales >= remaining:
            used = remaining / sales * days
            steps.append(CountBackStep(chunk_start, chunk_end, days, sales, remaining, used))
            return total + used, steps, ""
        steps.append(CountBackStep(chunk_start, chunk_end, days, sales, remaining, Decimal(days)))
        total += days
        remaining -= sales
        chunk_end = chunk_start - timedelta(days=1)


def figures(h: History, start: date, end: date, *, with_current: bool = False, label: str = "") -> Dso:
    d = Dso(currency=h.currency, start=start, end=end, sales=h.sales(start, end),
            ar_open=h.ar(start - timedelta(days=1)), ar_close=h.ar(end), label=label, rates=h.rates)
    d.count_back_raw, d.steps, d.count_back_reason = count_back(h, end)
    if with_current:
        d.current = current_ar_of(h, end)
    return d


def for_period(org, currency: str, kind: str, as_of: date) -> Dso:
    """DSO for the month/quarter/year containing as_of up to as_of (or the 90 days ending then)."""
    h = load(org, currency, as_of)
    start = period_start(kind, as_of)
    return figures(h, start, as_of, with_current=True, label=period_label(kind, start))


def trend(org, currency: str, as_of: date, kind: str, count: int) -> list[Dso]:
    """The last `count` months or quarters ending with the one containing as_of (that one to date),
    each as it stood at its own end; periods wholly before the books start are left out."""
    h = load(org, currency, as_of)
    step = 3 if kind == "quarter" else 1
    last = period_start(kind, as_of)
    out = []
    for back in range(count - 1, -1, -1):
        start = add_months(last, -back * step)
        end = min(add_months(start, step) - timedelta(days=1), as_of)
        if h.books_start and end < h.books_start:
            continue
        out.append(figures(h, start, end, label=period_label(kind, start)))
    return out
