"""The owner's dashboard: what is owed, what is late, what came in, what is coming.

Reads only small or indexed things, so it stays fast at a million invoices: the AR control
account's day totals, the open-by-due-date and daily-flow summaries (kept exact by triggers),
the maintained customer balances (top debtors), a range of the open-invoice index (due soon)
and the last journal entries.

DSO (days sales outstanding), as the page says: what is owed today (the AR control balance)
divided by what was invoiced over the last 90 days, times 90 — how many days of sales are
still unpaid.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum

from accounts import fx
from accounts.models import CustomerBalance, JournalEntry, JournalLine
from accounts.models_org import today_in
from accounts.money import round_money
from invoicing.models import Invoice
from reports.aging import Bucket, bucket_of, make_buckets
from reports.asof import ZERO, ar_control, ar_control_by_currency
from reports.dashboard_past import past_figures
from reports.models import AgingBasis, DailyFlow, OpenByDueDate, ReportSettings

DSO_DAYS = 90


def month_start(day: date, back: int = 0) -> date:
    """The first day of the month `back` months before day's month."""
    y, m = day.year, day.month - back
    while m <= 0:
        m += 12
        y -= 1
    return date(y, m, 1)


@dataclass
class Dashboard:
    currency: str
    today: date
    in_base: bool = False  # issue 17: every currency converted (open items at today's rate, flows at their day's)
    rates: dict = field(default_factory=dict)
    past: bool = False  # shown as of the end of a past day
    outstanding: Decimal = ZERO
    open_invoices: Decimal = ZERO
    open_count: int = 0
    unapplied: Decimal = ZERO
    overdue: Decimal = ZERO
    overdue_count: int = 0
    disputed: Decimal = ZERO  # the part of open invoices in dispute (on hold) at the end of the day
    disputed_count: int = 0
    due_soon: Decimal = ZERO
    due_soon_count: int = 0
    collected_this_month: Decimal = ZERO
    collected_last_month: Decimal = ZERO
    collected_last_month_to_date: Decimal = ZERO
    invoiced_dso_window: Decimal = ZERO
    dso: Decimal | None = None
    dso_formula: str = "period_end"  # ReportSettings.dso_formula (issue 20)
    dso_reason: str = ""
    buckets: list[Bucket] = field(default_factory=list)
    bucket_amounts: list[Decimal] = field(default_factory=list)
    months: list[tuple[date, Decimal]] = field(default_factory=list)
    top_debtors: list = field(default_factory=list)
    due_soon_invoices: list = field(default_factory=list)
    recent: list = field(default_factory=list)

    @property
    def currency_param(self) -> str:
        """The aging page's currency choice for the same view ("*": all, in the base currency)."""
        return "*" if self.in_base else self.currency

    @property
    def collected_change(self) -> Decimal | None:
        """This month so far against last month over the same days, in percent."""
        if not self.collected_last_month_to_date:
            return None
        change = (self.collected_this_month - self.collected_last_month_to_date) * 100
        return (change / self.collected_last_month_to_date).quantize(Decimal(1), ROUND_HALF_UP)


def build(
    org, currency: str | None = None, today: date | None = None, in_base: bool = False, *, as_of: date | None = None
) -> Dashboard:
    """Today's dashboard, or with `as_of` (a past day) the dashboard as it stood at the end of
    that day (issue 20): open amounts by the one as-of definition (reports.asof) instead of
    today's maintained summaries; that view is per currency. in_base: every currency converted to
    the base currency (accounts.fx; MissingRate names the gap)."""
    if as_of is not None and as_of < today_in(org):
        return _build_as_of(org, currency or org.base_currency, as_of)
    today = today or today_in(org)
    cur = org.base_currency if in_base else (currency or org.base_currency)
    d = Dashboard(currency=cur, today=today, in_base=in_base)
    settings = ReportSettings.for_org(org)
    conv = None
    if in_base:
        from reports.asof import org_currencies

        d.rates = {c: fx.rate_on(org, c, today) for c in org_currencies(org)}
        first = min(month_start(today, 11), today - timedelta(days=DSO_DAYS - 1))
        series = {c: fx.rate_series(org, c, first, today) for c in d.rates}

        def conv(amount, currency, day=today):
            rate = d.rates[currency] if day == today else series[currency](day)
            return round_money(amount * rate, cur)

        # One grouped query each (not one per currency), each currency's figure converted once.
        control, unapplied = ar_control_by_currency(org, today), unapplied_by_currency(org)
        d.outstanding = sum((conv(control.get(c, ZERO), c) for c in d.rates), ZERO)
        d.unapplied = sum((conv(unapplied.get(c, ZERO), c) for c in d.rates), ZERO)
    else:
        d.outstanding = ar_control(org, today, cur)
        d.unapplied = unapplied_now(org, cur)
    _open_summary(org, d, settings.limits, conv, _open_in_base(org, d) if in_base else None)
    _flows(org, d, conv)
    d.dso_formula = "period_end" if in_base else settings.dso_formula  # the others read one currency's ledger
    if d.dso_formula == "period_end":
        if d.invoiced_dso_window > 0:
            d.dso = (d.outstanding * DSO_DAYS / d.invoiced_dso_window).quantize(Decimal("0.1"), ROUND_HALF_UP)
    else:
        _headline_dso(org, d)
    _disputed_now(org, d, conv)
    d.top_debtors = _top_debtors(org, cur, today, d.rates if in_base else None)
    soon = Invoice.objects.open().filter(organization=org, due_date__gte=today, due_date__lte=today + timedelta(days=7))
    if not in_base:
        soon = soon.filter(currency=cur)
    d.due_soon_invoices = list(soon.select_related("customer").order_by("due_date", "-amount_due", "pk")[:10])
    d.recent = _recent(org)
    return d


def _headline_dso(org, d: Dashboard) -> None:
    """The organization's chosen DSO formula over the last 90 days (reports.dso)."""
    from reports import dso

    try:
        figures = dso.figures(dso.load(org, d.currency, d.today), dso.period_start("days90", d.today), d.today)
    except dso.Unavailable as e:
        d.dso_reason = str(e)
        return
    d.dso = figures.value(d.dso_formula)
    d.dso_reason = figures.reason(d.dso_formula)


def unapplied_now(org, cur: str) -> Decimal:
    """Payments and credit notes not yet applied today (read through the partial indexes)."""
    return unapplied_by_currency(org, cur).get(cur, ZERO)


def unapplied_by_currency(org, cur: str | None = None) -> dict[str, Decimal]:
    """{currency: unapplied today} of every currency (or of `cur`), one grouped query."""
    from reports.asof import PAYMENT_NOW, PAYMENT_NOW_PREDICATE, report_cursor

    only = "" if cur is None else "AND {t}.currency = %(cur)s"
    with report_cursor() as cursor:
        cursor.execute(
            f"SELECT currency, sum(a) FROM ("  # noqa: S608 - constants
            f"  SELECT p.currency, {PAYMENT_NOW} AS a FROM payments_payment p "
            f"  WHERE p.organization_id = %(org)s AND {PAYMENT_NOW_PREDICATE} {only.format(t='p')}"
            f"  UNION ALL SELECT c.currency, c.total - c.amount_applied FROM invoicing_creditnote c "
            f"  WHERE c.organization_id = %(org)s AND c.total - c.amount_applied <> 0 {only.format(t='c')}"
            f") u GROUP BY currency",
            {"org": org.pk, "cur": cur},
        )
        return dict(cursor.fetchall())


def _open_summary(org, d: Dashboard, limits, conv=None, rows=None) -> None:
    """rows: (due date, amount, count) of open invoices (the as-of path passes its own); else
    today's summaries, in one currency or (conv) every currency converted."""
    d.buckets = make_buckets(limits, AgingBasis.DUE)
    amounts = [ZERO] * len(d.buckets)
    soon_end = d.today + timedelta(days=7)
    if rows is None:
        query = OpenByDueDate.objects.filter(organization=org, count__gt=0)
        if conv is None:
            query = query.filter(currency=d.currency)
        rows = [
            (due, conv(amount, currency) if conv else amount, count)
            for due, amount, count, currency in query.values_list("due_date", "amount", "count", "currency")
        ]
    for due, amount, count in rows:
        amounts[bucket_of((d.today - due).days, d.buckets)] += amount
        d.open_invoices += amount
        d.open_count += count
        if due < d.today:
            d.overdue += amount
            d.overdue_count += count
        elif due <= soon_end:
            d.due_soon += amount
            d.due_soon_count += count
    d.bucket_amounts = amounts


def _open_in_base(org, d: Dashboard) -> list[tuple]:
    """Today's open invoices per due date in the base currency: each (currency, due date) summary row at
    today's rate, rounded once (as conv would), summed in the database rather than row by row here."""
    from accounts.money import minor_units
    from reports.asof import report_cursor

    with report_cursor() as cursor:
        cursor.execute(
            "SELECT o.due_date, sum(round(o.amount * fx.rate, %(places)s)), sum(o.count) "
            "FROM reports_openbyduedate o JOIN unnest(%(cur)s::varchar[], %(rate)s::numeric[]) AS fx(cur, rate) "
            "ON fx.cur = o.currency WHERE o.organization_id = %(org)s AND o.count > 0 GROUP BY o.due_date",
            {"org": org.pk, "cur": list(d.rates), "rate": list(d.rates.values()), "places": minor_units(d.currency)},
        )
        return cursor.fetchall()


def _flows(org, d: Dashboard, conv=None) -> None:
    first = month_start(d.today, 11)
    window = d.today - timedelta(days=DSO_DAYS - 1)
    start = min(first, window, month_start(d.today, 1))
    rows = DailyFlow.objects.filter(organization=org, day__gte=start, day__lte=d.today)
    if conv is None:
        rows = rows.filter(currency=d.currency).values_list("day", "invoiced", "collected")
    else:  # realized figures at the rate of their own day
        rows = [
            (day, conv(invoiced, c, day), conv(collected, c, day))
            for day, invoiced, collected, c in rows.values_list("day", "invoiced", "collected", "currency")
        ]
    months = {month_start(d.today, back): ZERO for back in range(11, -1, -1)}
    this_month, last_month = month_start(d.today), month_start(d.today, 1)
    same_day_last_month = last_month + timedelta(days=d.today.day - 1)
    for day, invoiced, collected in rows:
        if day >= window:
            d.invoiced_dso_window += invoiced
        key = day.replace(day=1)
        if key in months:
            months[key] += collected
        if key == last_month and day <= same_day_last_month:
            d.collected_last_month_to_date += collected
    d.months = list(months.items())
    d.collected_this_month = months[this_month]
    d.collected_last_month = months[last_month]


def _disputed_now(org, d: Dashboard, conv=None) -> None:
    """Today's part of open invoices in dispute, by the hold columns (Invoice.disputed_part_on)."""
    held = Invoice.objects.open().filter(organization=org, disputed_at__isnull=False)
    if conv is None:
        held = held.filter(currency=d.currency)
    for invoice in held.only("currency", "amount_due", "disputed_at", "dispute_until", "disputed_amount"):
        part = invoice.disputed_part_on(d.today)
        if part:
            d.disputed += conv(part, invoice.currency) if conv else part
            d.disputed_count += 1


def _top_debtors(org, cur: str, today: date, rates: dict | None = None) -> list[dict]:
    balances = CustomerBalance.objects.filter(organization=org, amount__gt=0).select_related("customer")
    if rates is None:
        top = list(balances.filter(currency=cur).order_by("-amount", "customer_id")[:10])
    else:
        # Ranked by the base value at today's rates. Within a currency that order is the amount's
        # (a rate is positive), so the overall ten are among each currency's ten: one index range
        # per currency instead of sorting every balance by a computed value.
        candidates = [b for c in rates for b in balances.filter(currency=c).order_by("-amount", "customer_id")[:10]]
        top = sorted(candidates, key=lambda b: (-b.amount * rates[b.currency], b.customer_id))[:10]
    overdue = dict(
        Invoice.objects.overdue(today)
        .filter(organization=org, customer_id__in=[b.customer_id for b in top])
        .values("customer_id")
        .annotate(s=Sum("amount_due"))
        .values_list("customer_id", "s")
    )

    def shown(amount, currency):
        return amount if rates is None else round_money(amount * rates[currency], cur)

    return [
        {
            "customer": b.customer,
            "balance": shown(b.amount, b.currency),
            "overdue": shown(overdue.get(b.customer_id, ZERO), b.currency),
        }
        for b in top
    ]


def _recent(org) -> list[dict]:
    return _recent_rows(org, list(JournalEntry.objects.filter(organization=org).order_by("-seq")[:10]))


def _recent_rows(org, entries) -> list[dict]:
    """Each entry with its receivable line, and the document it posted (its page and its kind:
    "Payment PAY-7" opens the payment, not the raw journal entry; issue 21 point 10)."""
    from accounts.ledger_queries import source_label, source_url

    ar = {}
    for line in JournalLine.objects.filter(entry__in=entries, customer__isnull=False).select_related("customer"):
        ar.setdefault(line.entry_id, line)
    return [
        {"entry": e, "line": ar.get(e.pk), "url": source_url(org, e), "kind": source_label(e.source_type)}
        for e in entries
    ]


def _build_as_of(org, cur: str, as_of: date) -> Dashboard:
    """Every figure as it stood at the end of as_of, by the one as-of definition, read from today's
    summaries corrected by what moved after that day (reports.dashboard_past). Collections per month
    count payments by the day received, reversed ones not (the daily flow), as the today dashboard does."""
    from accounts.models import Customer
    from reports import dso

    dso.check_as_of(org, as_of)
    d = Dashboard(currency=cur, today=as_of, past=True)
    settings = ReportSettings.for_org(org)
    d.outstanding = ar_control(org, as_of, cur)
    past = past_figures(org, cur, as_of)
    d.disputed, d.disputed_count = past.disputed, past.disputed_count
    _open_summary(org, d, settings.limits, rows=past.due_rows)
    d.unapplied = past.unapplied
    _flows(org, d)
    d.dso_formula = settings.dso_formula
    if d.dso_formula == "period_end":
        if d.invoiced_dso_window > 0:
            d.dso = (d.outstanding * DSO_DAYS / d.invoiced_dso_window).quantize(Decimal("0.1"), ROUND_HALF_UP)
    else:
        _headline_dso(org, d)
    customers = Customer.objects.in_bulk([cid for cid, _n, _o in past.top])
    d.top_debtors = [{"customer": customers[cid], "balance": net, "overdue": overdue} for cid, net, overdue in past.top]
    found = Invoice.objects.select_related("customer").in_bulk([pk for pk, _a in past.soon])
    for pk, amount in past.soon:
        found[pk].amount_due = amount  # shown as it stood then; never saved
    d.due_soon_invoices = [found[pk] for pk, _a in past.soon]
    d.recent = _recent_rows(
        org, list(JournalEntry.objects.filter(organization=org, effective_date__lte=as_of).order_by("-seq")[:10])
    )
    return d
