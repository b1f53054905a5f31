"""Issue 20 report pages: DSO by three formulas with its trend, and the collection KPIs with their
drill-down to invoices. Read-only; every figure as of the end of a chosen day."""

from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.money import round_money
from accounts.permissions import org_view
from ledger_site.exports import XLSX_TYPE, csv_bytes, download, xlsx_append, xlsx_bytes, xlsx_workbook
from reports import behaviour as bh
from reports import dso as dso_mod
from reports import financials
from reports.asof import org_currencies
from reports.charts import Bar, bar_chart
from reports.forms import AsOfForm, PeriodForm, bound
from reports.forms_kpi import KpiForm, SeriesForm, WindowForm
from reports.kpi_charts import line_chart
from reports.kpis import SETS, invoices_behind, kpis, total
from reports.models import DsoFormula, ReportSettings
from reports.series import series
from reports.views.reports import page_number, query_string

SET_TITLES = {
    "sales": "Credit sales: invoices issued in the period",
    "open_start": "Open at the start (end of the day before)",
    "open_end": "Open at the end",
    "current": "Open at the end, not yet due",
    "overdue": "Open at the end, past due",
    "at_risk": "Open at the end, billed more than 90 days before",
}
SERIES_CSS = {DsoFormula.PERIOD_END: "s1", DsoFormula.AVERAGE: "s2", DsoFormula.COUNT_BACK: "s3"}


def kpi_form(request, all_in_base: bool = False) -> tuple[KpiForm, list[str]]:
    currencies = org_currencies(request.org)
    settings = ReportSettings.for_org(request.org)
    form = bound(KpiForm, request, currencies=currencies, formula=settings.dso_formula, all_in_base=all_in_base)
    return form, currencies


def _trend_chart(periods: list[dso_mod.Dso], title: str) -> str:
    labels = [p.label for p in periods]
    series = [(str(label), SERIES_CSS[f], [p.value(f) for p in periods]) for f, label in DsoFormula.choices]
    return line_chart(labels, series, title=title)


@org_view(Role.VIEWER)
def dso_report(request):
    form, currencies = kpi_form(request, all_in_base=True)
    # The collection KPIs have no "all, in base" view: their link keeps the rest of the query.
    in_base = request.GET.get("currency") == dso_mod.ALL
    kpi_query = query_string(request, drop=("page", "currency") if in_base else ("page",))
    context = {"form": form, "currencies": currencies, "formulas": DsoFormula.choices, "kpi_query": kpi_query}
    if form.errors:
        context["problem"] = " ".join(e for errors in form.errors.values() for e in errors)
        return render(request, "reports/dso.html", context)
    as_of, kind, currency = form.value("as_of"), form.value("kind"), form.value("currency")
    formula = form.value("formula")
    try:
        d = dso_mod.for_period(request.org, currency, kind, as_of)
    except dso_mod.Unavailable as e:
        context["problem"] = str(e)
        return render(request, "reports/dso.html", context)
    quarters = dso_mod.trend(request.org, currency, as_of, "quarter", 8)
    months = dso_mod.trend(request.org, currency, as_of, "month", 12)
    context.update({
        # In base (currency "*"): amounts shown in the base currency, with the rates and their day.
        "d": d, "as_of": as_of, "currency": currencies[0] if currency == dso_mod.ALL else currency,
        "rates": d.rates if currency == dso_mod.ALL else None, "kind": kind, "formula": formula,
        "headline": d.value(formula), "headline_reason": d.reason(formula),
        "rows": [(f, label, d.value(f), d.reason(f)) for f, label in DsoFormula.choices],
        "quarters": quarters, "months": months,
        "quarter_chart": _trend_chart(quarters, _("DSO, last 8 quarters")),
        "month_chart": _trend_chart(months, _("DSO, last 12 months")),
    })
    return render(request, "reports/dso.html", context)


@org_view(Role.VIEWER)
def collection_kpis(request):
    form, currencies = kpi_form(request)
    context = {"form": form, "currencies": currencies}
    if form.errors:
        context["problem"] = " ".join(e for errors in form.errors.values() for e in errors)
        return render(request, "reports/collection_kpis.html", context)
    as_of, kind, currency = form.value("as_of"), form.value("kind"), form.value("currency")
    try:
        k = kpis(request.org, currency, kind, as_of)
    except dso_mod.Unavailable as e:
        context["problem"] = str(e)
        return render(request, "reports/collection_kpis.html", context)
    base = {"as_of": as_of.isoformat(), "kind": kind, "currency": currency}
    context.update({"k": k, "d": k.d, "currency": currency, "as_of": as_of,
                    "drill": {which: urlencode({**base, "set": which}) for which in SETS}})
    return render(request, "reports/collection_kpis.html", context)


DRILL_LIMIT = 500


@org_view(Role.VIEWER)
def kpi_invoices(request):
    form, currencies = kpi_form(request)
    which = request.GET.get("set")
    context = {"form": form, "which": which, "titles": SET_TITLES}
    if which not in SETS:
        context["problem"] = _("Choose which invoices to list.")
    elif form.errors:
        context["problem"] = " ".join(e for errors in form.errors.values() for e in errors)
    if "problem" in context:
        return render(request, "reports/kpi_invoices.html", context)
    as_of, kind, currency = form.value("as_of"), form.value("kind"), form.value("currency")
    try:
        dso_mod.check_as_of(request.org, as_of)
    except dso_mod.Unavailable as e:
        context["problem"] = str(e)
        return render(request, "reports/kpi_invoices.html", context)
    start = dso_mod.period_start(kind, as_of)
    rows = invoices_behind(request.org, currency, start, as_of, which)
    context.update({"rows": rows[:DRILL_LIMIT], "count": len(rows), "total": total(rows), "currency": currency,
                    "start": start, "end": as_of, "title": SET_TITLES[which], "limit": DRILL_LIMIT,
                    "back": urlencode({"as_of": as_of.isoformat(), "kind": kind, "currency": currency})})
    return render(request, "reports/kpi_invoices.html", context)


BEHAVIOUR_PAGE = 100


@org_view(Role.VIEWER)
def payment_behaviour(request):
    """Payment behaviour over a window, per customer and overall, split disputed / undisputed
    (reports.behaviour); ?format=csv exports every row through ledger_site.exports."""

    currencies = org_currencies(request.org)
    form = bound(WindowForm, request, currencies=currencies)
    context = {"form": form, "currencies": currencies}
    if form.errors:
        context["problem"] = " ".join(e for errors in form.errors.values() for e in errors)
        return render(request, "reports/payment_behaviour.html", context)
    currency = form.value("currency")
    try:
        start, end = bh.window(request.org, form.value("window"), form.cleaned_data.get("start"),
                               form.cleaned_data.get("end"))
    except dso_mod.Unavailable as e:
        context["problem"] = str(e)
        return render(request, "reports/payment_behaviour.html", context)
    if request.GET.get("format") == "csv":
        return _behaviour_csv(bh.behaviour(request.org, currency, start, end))
    page = page_number(request)
    report = bh.behaviour_page(request.org, currency, start, end, page, BEHAVIOUR_PAGE)
    pages = max(1, -(-report.customers // BEHAVIOUR_PAGE))
    context.update({
        "r": report, "currency": currency, "page": page, "pages": pages, "rows": report.rows,
        "overall": [(_("All paid invoices"), report.total.all), (_("Never disputed"), report.total.undisputed),
                    (_("Disputed before payment"), report.total.disputed)],
        "prev_qs": query_string(request, page=page - 1), "next_qs": query_string(request, page=page + 1),
        "csv_qs": query_string(request, format="csv"),
    })
    return render(request, "reports/payment_behaviour.html", context)


def _behaviour_csv(report):
    head = ["customer", "group", "invoices", "amount", "sum days to pay", "avg days to pay",
            "amount-weighted days to pay", "late", "sum days late", "avg days late (all)", "avg days late (late only)",
            "worst delay", "on time", "on-time %", "currency"]
    rows = [head]
    for row in [*report.rows, report.total]:
        name = row.name if row.customer_id else "ALL"
        for group, s in (("all", row.all), ("undisputed", row.undisputed), ("disputed", row.disputed)):
            if s.count:
                rows.append([name, group, s.count, round_money(s.amount, report.currency), s.days_sum,
                             s.days_to_pay, s.weighted_days, s.late_count,
                             s.late_days_sum, s.days_late, s.days_late_of_late, s.worst_delay, s.on_time_count,
                             s.on_time_percent, report.currency])
    return download(csv_bytes(rows, bom=False), "text/csv; charset=utf-8",
                    f"payment-behaviour-{report.start}-{report.end}.csv")


@org_view(Role.VIEWER)
def collections_series(request):
    """Collected and invoiced by day, ISO week, month or quarter; ?format=csv or xlsx exports."""

    currencies = org_currencies(request.org)
    form = bound(SeriesForm, request, currencies=currencies)
    context = {"form": form, "currencies": currencies}
    if form.errors:
        context["problem"] = " ".join(e for errors in form.errors.values() for e in errors)
        return render(request, "reports/collections_series.html", context)
    grain, start, end, currency = (form.value("grain"), form.value("start"), form.value("end"),
                                   form.value("currency"))
    points = series(request.org, currency, grain, start, end)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return _series_export(points, fmt, grain, currency, start, end)
    chart = bar_chart([Bar(p.label, p.collected, ghost=p.invoiced) for p in points[-60:]], currency,
                      title=_("Collected (dark) and invoiced (light)"), width=760)
    context.update({"points": points, "chart": chart, "currency": currency, "grain": grain,
                    "csv_qs": query_string(request, format="csv"), "xlsx_qs": query_string(request, format="xlsx"),
                    "total_invoiced": sum((p.invoiced for p in points), 0),
                    "total_collected": sum((p.collected for p in points), 0)})
    return render(request, "reports/collections_series.html", context)


def _series_export(points, fmt, grain, currency, start, end):
    rows = [[grain, "from", "to", "invoiced", "collected", "currency"]]
    rows += [[p.label, p.start, p.end, p.invoiced, p.collected, currency] for p in points]
    name = f"collections-by-{grain}-{start}-{end}"
    if fmt == "csv":
        return download(csv_bytes(rows, bom=False), "text/csv; charset=utf-8", name + ".csv")
    wb, ws = xlsx_workbook("Collections")
    for row in rows:
        xlsx_append(ws, row)
    return download(xlsx_bytes(wb), XLSX_TYPE, name + ".xlsx")


@org_view(Role.VIEWER)
def balance_sheet(request):
    currencies = org_currencies(request.org)
    form = bound(AsOfForm, request, currencies=currencies)
    context = {"form": form, "currencies": currencies}
    if form.errors:
        context["problem"] = " ".join(e for errors in form.errors.values() for e in errors)
        return render(request, "reports/balance_sheet.html", context)
    as_of, currency = form.value("as_of"), form.value("currency")
    try:
        dso_mod.check_as_of(request.org, as_of)
    except dso_mod.Unavailable as e:
        context["problem"] = str(e)
        return render(request, "reports/balance_sheet.html", context)
    context.update({"bs": financials.balance_sheet(request.org, currency, as_of), "currency": currency})
    return render(request, "reports/balance_sheet.html", context)


@org_view(Role.VIEWER)
def cash_flow(request):
    currencies = org_currencies(request.org)
    currency = request.GET.get("currency") if request.GET.get("currency") in currencies else currencies[0]
    form = bound(PeriodForm, request)
    context = {"form": form, "currencies": currencies, "currency": currency}
    if form.errors:
        context["problem"] = " ".join(e for errors in form.errors.values() for e in errors)
        return render(request, "reports/cash_flow.html", context)
    start, end = form.period()
    try:
        dso_mod.check_as_of(request.org, end)
    except dso_mod.Unavailable as e:
        context["problem"] = str(e)
        return render(request, "reports/cash_flow.html", context)
    context["cf"] = financials.cash_flow(request.org, currency, start, end)
    return render(request, "reports/cash_flow.html", context)
