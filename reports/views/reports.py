"""Reports pages: the dashboard, aging, open items, statements, insights, forecast, credit control, P&L.

Every page is read-only for viewers; the only writes are the report settings (owners) and
sending statements (finance). Everything is scoped to request.org (and RLS underneath).
"""

import datetime
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts import fx, revaluation
from accounts.credit_terms import overdue_days, set_overdue_days
from accounts.ledger import LedgerError
from accounts.models import Customer, Role
from accounts.models_org import MAX_CREDIT_OVERDUE_DAYS, today_in
from accounts.permissions import can, org_view
from invoicing.mail import parse_recipients
from ledger_site.exports import XLSX_TYPE, csv_stream_response, download
from ledger_site.tenancy import tenant_context
from reports import credit_control as cc
from reports import dashboard as dash
from reports import exports, statements
from reports.aging import PAGE_SIZE, AgingQuery, aging, cell_items, make_buckets
from reports.asof import disputed_as_of, open_items, org_currencies, promises_as_of
from reports.charts import Bar, bar_chart, sparkline
from reports.credit_control import recent_overrides
from reports.dso import Unavailable, as_of_note, books_start, check_as_of
from reports.forecast import ALL, LATER, OVERDUE, WEEKS, forecast, week_invoices, week_invoices_in_base
from reports.forecast_accuracy import WEEKS_BACK, accuracy
from reports.forms import (
    BASE_CHOICE,
    AgingForm,
    AsOfForm,
    BulkStatementForm,
    PeriodForm,
    ReportSettingsForm,
    StatementForm,
    bound,
)
from reports.insights import SORTS, add_months, behaviour_report, customer_behaviour
from reports.models import ReportSettings, StatementRun, StatementRunItem
from reports.pnl import ALL_IN_BASE
from reports.pnl import profit_and_loss as build_pnl
from reports.revenue import SEGMENTS, revenue_by_segment
from reports.tasks import start_run


def url(name: str, **kwargs) -> str:
    return reverse(name, kwargs=kwargs)


def item_url(org, item) -> str:
    if item.kind == "i":
        return url("invoice_detail", org_slug=org.slug, pk=item.item_id)
    if item.kind == "p":
        return url("payment_detail", org_slug=org.slug, pk=item.item_id)
    return url("credit_note_detail", org_slug=org.slug, pk=item.item_id)


def pk_prefix(name: str, org) -> str:
    """The URL of `name` for pk 0 without its "0/" tail: a page adds each row's "<pk>/" to it
    instead of reversing a URL per row (issue 23: 145k reversals made a 17 s page)."""
    full = reverse(name, kwargs={"org_slug": org.slug, "pk": 0})
    assert full.endswith("/0/"), full
    return full[:-2]


MAX_PAGE = 100_000  # far past any real list; keeps OFFSET inside bigint (issue 22: ?page=10**20 was a 500)


def page_number(request) -> int:
    """?page= as 1..MAX_PAGE; anything else is page 1 (a page past the end shows no rows)."""
    raw = request.GET.get("page", "1").strip()
    if not raw.isascii() or not raw.isdigit():  # "²".isdigit() is True, and int() refuses it
        return 1
    if len(raw) > 12:  # also keeps int() clear of Python's 4,300-digit limit
        return MAX_PAGE
    return min(max(1, int(raw)), MAX_PAGE)


def query_string(request, drop=("page",), **changes) -> str:
    params = {k: v for k, v in request.GET.items() if k not in drop}
    params.update({k: v for k, v in changes.items() if v is not None})
    return urlencode(params)


# --- index and settings --------------------------------------------------------------------------

@org_view(Role.VIEWER)
def report_index(request):
    return render(request, "reports/index.html", {
        "trial_balance_url": url("trial_balance", org_slug=request.org.slug),
    })


@org_view(Role.OWNER)
def report_settings(request):
    instance = ReportSettings.for_org(request.org)
    form = ReportSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            settings = form.save(commit=False)
            settings.organization = request.org
            settings.save()
            set_overdue_days(request.org, form.cleaned_data["credit_overdue_days"], actor=request.user)
        messages.success(request, _("Report settings saved."))
        return redirect("report_settings", org_slug=request.org.slug)
    return render(request, "reports/settings.html", {"form": form})


# --- aging -----------------------------------------------------------------------------------------

def _aging_query(request, page_size=PAGE_SIZE) -> tuple[AgingForm, AgingQuery]:
    settings = ReportSettings.for_org(request.org)
    currencies = org_currencies(request.org)
    form = bound(AgingForm, request, currencies=currencies, basis=settings.aging_basis)
    page = page_number(request)
    in_base = form.value("currency") == BASE_CHOICE
    q = AgingQuery(
        as_of=form.value("as_of"), in_base=in_base,
        currency=request.org.base_currency if in_base else (form.value("currency") or request.org.base_currency),
        basis=form.value("basis") or settings.aging_basis, limits=settings.limits,
        tag=(form.value("tag") or "").strip(), min_amount=form.value("min_amount"),
        only_overdue=bool(form.value("overdue")), sort=form.value("sort") or "name", page=page, page_size=page_size,
    )
    return form, q


@org_view(Role.VIEWER)
def aging_report(request):
    form, q = _aging_query(request)
    try:
        report = aging(request.org, q)
    except fx.MissingRate as e:  # in the base currency: one rate of the day is missing; say which
        messages.error(request, e.message.replace(" Nothing was posted.", ""))
        q.in_base = False
        report = aging(request.org, q)
    sort_links = {}
    keys = ["name", "code", *[f"b{b.index}" for b in report.buckets], "unapplied", "total"]
    for key in keys:
        descending_first = key not in ("name", "code")
        if report.sort == key:
            new = "-" + key
        elif report.sort == "-" + key:
            new = key
        else:
            new = ("-" + key) if descending_first else key
        sort_links[key] = "?" + query_string(request, drop=("page", "sort"), sort=new)
    def arrow(key):
        return " ▲" if report.sort == key else " ▼" if report.sort == "-" + key else ""

    bucket_headers = [{"label": b.label, "link": sort_links[f"b{b.index}"], "arrow": arrow(f"b{b.index}")}
                      for b in report.buckets]
    cell_base = query_string(request, drop=("page", "sort", "tag", "min_amount", "overdue"),
                             as_of=q.as_of.isoformat(), basis=q.basis, currency=q.currency)
    return render(request, "reports/aging.html", {
        "form": form, "report": report, "sort_links": sort_links, "cell_base": cell_base,
        "as_of_note": as_of_note(request.org, q.as_of),
        "bucket_headers": bucket_headers,
        "customer_base": pk_prefix("customer_detail", request.org), "cell_prefix": pk_prefix("aging_cell", request.org),
        "export_qs": query_string(request, drop=("page",)),
        "prev_qs": query_string(request, page=report.page - 1), "next_qs": query_string(request, page=report.page + 1),
        "trial_balance_url": url("trial_balance", org_slug=request.org.slug),
    })


@org_view(Role.VIEWER)
def aging_cell(request, pk):
    _form, q = _aging_query(request, page_size=None)
    customer = get_object_or_404(Customer, organization=request.org, pk=pk)
    raw = request.GET.get("bucket", "u")
    buckets = make_buckets(q.limits, q.basis)
    if raw == "u":
        bucket = None
        title = _("Unapplied payments and credits")
    elif raw == "o":
        bucket = "overdue"
        title = _("Overdue invoices")
    else:
        try:
            bucket = int(raw)
            title = buckets[bucket].label
        except (ValueError, IndexError) as e:
            raise Http404 from e
    if bucket == "overdue":
        items = [it for it in open_items(request.org, q.as_of, [customer.pk], currency=q.currency)
                 if it.kind == "i" and it.due_date < q.as_of]
    else:
        items = cell_items(request.org, customer.pk, q, bucket)
    rows = [{"item": it, "url": item_url(request.org, it), "age": it.age(q.as_of, "due")} for it in items]
    return render(request, "reports/aging_cell.html", {
        "customer": customer, "q": q, "title": title, "rows": rows, "bucket": bucket,
        "total": sum((it.amount for it in items), Decimal(0)),
        "back_qs": query_string(request, drop=("bucket",)),
    })


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    return download(content, content_type, filename)


@org_view(Role.VIEWER)
def aging_export(request, fmt):
    _form, q = _aging_query(request, page_size=None)
    try:
        report = aging(request.org, q)
    except fx.MissingRate as e:
        return HttpResponse(e.message.replace(" Nothing was posted.", ""), status=409, content_type="text/plain")
    name = f"aging-{request.org.slug}-{q.as_of.isoformat()}-{q.currency}{'-base' if q.in_base else ''}"
    if fmt == "csv":
        return _download(exports.aging_csv(report), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "xlsx":
        return _download(exports.aging_xlsx(report), XLSX_TYPE, f"{name}.xlsx")
    if fmt == "pdf":
        return _download(exports.aging_pdf(report, request.org), "application/pdf", f"{name}.pdf")
    raise Http404


# --- open items (AR summary) -----------------------------------------------------------------------

CUSTOMERS_PER_PAGE = 25


@org_view(Role.VIEWER)
def open_items_report(request):
    """Every open invoice, credit note and unapplied payment as of a date, by customer."""
    currencies = org_currencies(request.org)
    form = bound(AsOfForm, request, currencies=currencies)
    as_of, currency = form.value("as_of"), form.value("currency") or request.org.base_currency
    search = (form.value("q") or "").strip()
    # One page of customers with anything open, from the aging (fast), then their items (direct).
    page_no = page_number(request)
    report = aging(request.org, AgingQuery(as_of=as_of, currency=currency, search=search, sort="name",
                                           page=page_no, page_size=CUSTOMERS_PER_PAGE))
    items = open_items(request.org, as_of, [r.customer_id for r in report.rows], currency=currency)
    # Dispute and promise as they stood on the day (their histories), not as they are now.
    invoice_ids = [it.item_id for it in items if it.kind == "i" and it.amount > 0]
    disputed = disputed_as_of(request.org, as_of, invoice_ids)
    promised = promises_as_of(request.org, as_of, invoice_ids)
    by_customer = {}
    for it in items:
        by_customer.setdefault(it.customer_id, []).append(
            {"item": it, "url": item_url(request.org, it), "age": it.age(as_of, "due"),
             "disputed": disputed.get(it.item_id) if it.kind == "i" else None,
             "promised": promised.get(it.item_id) if it.kind == "i" else None})
    groups = [{"row": r, "items": by_customer.get(r.customer_id, [])} for r in report.rows]
    return render(request, "reports/open_items.html", {
        "form": form, "as_of": as_of, "currency": currency, "groups": groups, "report": report,
        "search": search, "as_of_note": as_of_note(request.org, as_of),
        "open_total": sum(report.everything.buckets, Decimal(0)),
        "prev_qs": query_string(request, page=report.page - 1), "next_qs": query_string(request, page=report.page + 1),
    })


# --- dashboard -------------------------------------------------------------------------------------

@org_view(Role.VIEWER)
def dashboard(request):
    org = request.org
    if not Customer.objects.filter(organization=org).exists():
        return render(request, "reports/dashboard.html", {"empty": True})
    currencies = org_currencies(org)
    currency = request.GET.get("currency") if request.GET.get("currency") in currencies else currencies[0]
    as_of, problem = _dashboard_as_of(request)
    if problem:
        return render(request, "reports/dashboard.html", {"problem": problem, "currencies": currencies,
                                                          "currency": currency, "as_of_raw": request.GET["as_of"]})
    # All currencies in the base one (issue 17) is today's view; a past day is shown per currency.
    in_base = request.GET.get("currency") == BASE_CHOICE and len(currencies) > 1 and as_of is None
    try:
        d = dash.build(org, currency, in_base=in_base, as_of=as_of)
    except fx.MissingRate as e:  # all in the base currency, but a rate of the day is missing: say which
        messages.error(request, e.message.replace(" Nothing was posted.", ""))
        d = dash.build(org, currency)
    except Unavailable as e:  # before the books start
        return render(request, "reports/dashboard.html", {"problem": str(e), "currencies": currencies,
                                                          "currency": currency, "as_of_raw": request.GET["as_of"]})
    currency = d.currency
    aging_url = reverse("aging_report", kwargs={"org_slug": org.slug})
    css = ["", "late", "late", "bad", "bad", "bad", "bad", "bad"]
    aging_chart = bar_chart(
        [Bar(b.label, amount, css[min(b.index, len(css) - 1)],
             href=f"{aging_url}?currency={d.currency_param}&sort=-b{b.index}")
         for b, amount in zip(d.buckets, d.bucket_amounts, strict=True)],
        currency, title=_("Open invoices by days past due"))
    month_names = [m.strftime("%b") for m, _amount in d.months]
    collections_chart = bar_chart([Bar(name, amount) for name, (_m, amount) in zip(month_names, d.months, strict=True)],
                                  currency, title=_("Collections per month, last 12 months"))
    return render(request, "reports/dashboard.html", {
        "d": d, "currencies": currencies, "aging_chart": aging_chart, "collections_chart": collections_chart,
        "aging_rows": list(zip(d.buckets, d.bucket_amounts, strict=True)),
        "dso_days": dash.DSO_DAYS,
    })


def _dashboard_as_of(request):
    """?as_of=YYYY-MM-DD (issue 20): (a past day, None), (None, None) for today, or (None, why not)."""

    raw = request.GET.get("as_of", "").strip()
    if not raw:
        return None, None
    try:
        day = datetime.date.fromisoformat(raw)
    except ValueError:
        return None, _("“%(raw)s” is not a date: use YYYY-MM-DD.") % {"raw": raw[:20]}
    today = today_in(request.org)
    if day > today:
        return None, _("%(d)s is in the future (today is %(t)s): the dashboard exists only up to today.") % {
            "d": day.isoformat(), "t": today.isoformat()}
    return (day if day < today else None), None


# --- statements ------------------------------------------------------------------------------------

def _statement(request, pk):
    customer = get_object_or_404(Customer.objects.select_related("organization"), organization=request.org, pk=pk)
    form = bound(StatementForm, request)
    start, end = form.period()
    style = form.value("style") or statements.BALANCE_FORWARD
    return customer, form, statements.build(customer, style, start, end)


@org_view(Role.VIEWER)
def customer_statement(request, pk):
    customer, form, st = _statement(request, pk)
    return render(request, "reports/statement.html", {
        "customer": customer, "form": form, "st": st, "qs": query_string(request),
        "lines": [(line, statements.kind_label(line.kind), _line_url(request.org, line)) for line in st.lines],
        "items": [{"item": r["item"], "days_overdue": r["days_overdue"], "url": item_url(request.org, r["item"])}
                  for r in st.item_rows],
        "message": statements.default_message(st) if can(request, Role.FINANCE) else None,
    })


def _line_url(org, line) -> str | None:
    if line.source_type == "invoicing.invoice" and line.source_id:
        return url("invoice_detail", org_slug=org.slug, pk=line.source_id)
    if line.source_type == "payments.payment" and line.source_id:
        return url("payment_detail", org_slug=org.slug, pk=line.source_id)
    return url("journal_entry", org_slug=org.slug, pk=line.entry_id)


@require_safe
@org_view(Role.VIEWER)
def customer_statement_pdf(request, pk):
    _customer, _form, st = _statement(request, pk)
    doc = statements.stored_pdf(st)
    response = HttpResponse(bytes(doc.content), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{doc.filename}"'
    return response


@require_POST
@org_view(Role.FINANCE)
def customer_statement_email(request, pk):
    customer, _form, st = _statement(request, pk)
    back = reverse("customer_statement", kwargs={"org_slug": request.org.slug, "pk": customer.pk}) \
        + "?" + query_string(request)
    try:
        recipients = parse_recipients(request.POST.get("recipients", ""))
        subject = (request.POST.get("subject") or "").strip()
        body = (request.POST.get("body") or "").strip()
        if not subject or not body:
            raise ValidationError(_("Write a subject and a message."))
        statements.email_statement(st, recipients=recipients, subject=subject, body=body, actor=request.user)
    except (ValidationError, statements.StatementError) as e:
        messages.error(request, " ".join(getattr(e, "messages", [str(e)])))
        return redirect(back)
    messages.success(request, _("The statement is on its way to %(to)s.") % {"to": ", ".join(recipients)})
    return redirect(back)


@org_view(Role.VIEWER)
def statement_bulk(request):
    runs = StatementRun.objects.filter(organization=request.org).select_related("created_by")[:10]
    return render(request, "reports/statement_bulk.html", {"form": BulkStatementForm(),
                                                           "runs": runs})


@require_POST
@org_view(Role.FINANCE)
def statement_bulk_start(request):
    form = BulkStatementForm(request.POST)
    if not form.is_valid():
        runs = StatementRun.objects.filter(organization=request.org).select_related("created_by")[:10]
        return render(request, "reports/statement_bulk.html", {"form": form, "runs": runs})
    start, end = form.period()
    run = start_run(request.org, request.user, style=form.cleaned_data["style"], start=start, end=end,
                    tag=(form.cleaned_data.get("tag") or "").strip(), send=bool(form.cleaned_data.get("send")))
    return redirect("statement_run", org_slug=request.org.slug, pk=run.pk)


@org_view(Role.VIEWER)
def statement_run(request, pk):
    run = get_object_or_404(StatementRun, organization=request.org, pk=pk)
    items = (StatementRunItem.objects.filter(run=run).exclude(outcome="").select_related("customer")
             .order_by("-at", "-pk")[:50])
    return render(request, "reports/statement_run.html", {"run": run, "items": items})


# --- payment behaviour, forecast, credit control, profit and loss ---------------------------------

@org_view(Role.VIEWER)
def insights_report(request):
    currencies = org_currencies(request.org)
    currency = request.GET.get("currency") if request.GET.get("currency") in currencies else currencies[0]
    sort = request.GET.get("sort", "-days_late")
    if sort.lstrip("-") not in SORTS:
        sort = "-days_late"
    page = page_number(request)
    # As of the end of a day (issue 20): today by default; a past day from the rows effective by then.
    form = bound(AgingForm, request, currencies=currencies)
    as_of, problem = form.value("as_of"), None
    if form.errors.get("as_of"):
        problem = " ".join(form.errors["as_of"])
    elif as_of != today_in(request.org):
        try:
            check_as_of(request.org, as_of)
        except Unavailable as e:
            problem = str(e)
    rows, count = ([], 0) if problem else behaviour_report(request.org, currency, as_of, sort=sort, page=page,
                                                           page_size=50)
    add_months(request.org, rows, currency, as_of)
    for row in rows:
        row.spark = sparkline([v for _m, v in row.months],
                              title=_("Average days late per month, last 12 months"))
    links = {}
    for key in SORTS:
        first = key if key in ("name", "code") else "-" + key
        links[key] = "?" + query_string(request, drop=("page", "sort"), sort=("-" + key if sort == key else
                                                                              key if sort == "-" + key else first))
    pages = max(1, -(-count // 50))
    return render(request, "reports/insights.html", {
        "as_of": as_of, "problem": problem, "is_today": as_of == today_in(request.org),
        "rows": rows, "count": count, "sort": sort, "links": links, "currency": currency, "currencies": currencies,
        "arrows": {key: " ▲" if sort == key else " ▼" if sort == "-" + key else "" for key in SORTS},
        "customer_base": pk_prefix("customer_detail", request.org), "cell_prefix": pk_prefix("aging_cell", request.org),
        "page": page, "pages": pages, "prev_qs": query_string(request, page=page - 1),
        "next_qs": query_string(request, page=page + 1),
    })


def customer_panel(request, customer):
    """On the customer's page: payment behaviour and links to its statement and aging."""
    behaviour = customer_behaviour(customer)
    return "reports/_customer_panel.html", {
        "b": behaviour, "customer": customer,
        "spark": sparkline([v for _m, v in behaviour.months], width=180, height=36,
                           title=_("Average days late per month, last 12 months")),
    }


@org_view(Role.VIEWER)
def forecast_report(request):
    currencies = org_currencies(request.org)
    wanted = request.GET.get("currency")
    currency = wanted if wanted in currencies or (wanted == ALL and len(currencies) > 1) else currencies[0]
    problem = None
    try:
        f = forecast(request.org, currency)
    except fx.MissingRate as e:  # in base without a rate of the day: the base currency's own view
        problem, currency = e.message.replace(" Nothing was posted.", ""), currencies[0]
        f = forecast(request.org, currency)
    shown = f.currency  # the base currency when in base
    base = reverse("forecast_week", kwargs={"org_slug": request.org.slug, "week": "0"})[:-2]
    chart = bar_chart([Bar(w.start.strftime("%d %b"), w.amount, href=f"{base}{w.index}/?currency={currency}")
                       for w in f.weeks], shown, title=_("Expected collections per week"), width=760)
    return render(request, "reports/forecast.html", {"f": f, "chart": chart, "currency": shown, "choice": currency,
                                                     "currencies": currencies, "problem": problem, "all": ALL})


@org_view(Role.VIEWER)
def forecast_accuracy_report(request):
    """Past forecasts against what came in, week by week and per customer (issue 20 item 7)."""

    currencies = org_currencies(request.org)
    currency = request.GET.get("currency") if request.GET.get("currency") in currencies else currencies[0]
    today = today_in(request.org)
    first = books_start(request.org)
    weeks = 0 if first is None else min(WEEKS_BACK, max(0, ((today - first).days - 1) // 7))
    result = accuracy(request.org, currency, today, weeks=weeks)
    names = Customer.objects.in_bulk(list(result.customers))
    customers = sorted(({"customer": names[cid], **row} for cid, row in result.customers.items()
                        if row["came_in"] or any(row["forecast"].values())),
                       key=lambda r: (-r["abs_error"]["mean"], r["customer"].name))[:50]
    return render(request, "reports/forecast_accuracy.html", {
        "a": result, "currency": currency, "currencies": currencies, "customers": customers,
        "methods": [(m, result.mae(m), result.bias(m)) for m in result.methods],
    })


@org_view(Role.VIEWER)
def forecast_week(request, week):
    index = {"overdue": OVERDUE, "later": LATER}.get(week)
    if index is None:
        try:
            index = int(week)
        except ValueError as e:
            raise Http404 from e
        if not 0 <= index < WEEKS:
            raise Http404
    currencies = org_currencies(request.org)
    wanted = request.GET.get("currency")
    currency = wanted if wanted in currencies or (wanted == ALL and len(currencies) > 1) else currencies[0]
    rates, problem = None, None
    if currency == ALL:  # every currency's invoices, in base at the forecast day's rates (as its weeks)
        try:
            invoices, count, rates = week_invoices_in_base(request.org, index)
        except fx.MissingRate as e:
            problem, currency = e.message.replace(" Nothing was posted.", ""), currencies[0]
    f = forecast(request.org, currency)
    if currency != ALL:
        invoices, count = week_invoices(request.org, index, currency)
    chosen = f.overdue if index == OVERDUE else f.later if index == LATER else f.weeks[index]
    return render(request, "reports/forecast_week.html", {
        "f": f, "week": chosen, "invoices": invoices, "count": count, "currency": f.currency, "choice": currency,
        "rates": rates, "problem": problem})


def _credit_control_query(request):
    currencies = org_currencies(request.org)
    currency = request.GET.get("currency") if request.GET.get("currency") in currencies else currencies[0]
    threshold = overdue_days(request.org)
    try:
        days = max(1, min(MAX_CREDIT_OVERDUE_DAYS, int(request.GET.get("days", threshold))))
    except ValueError:
        days = threshold
    sort = request.GET.get("sort", cc.DEFAULT_SORT)
    if sort.lstrip("-") not in cc.SORTS:
        sort = cc.DEFAULT_SORT
    search = request.GET.get("q", "").strip()[:100]
    return currencies, currency, threshold, days, sort, search


@org_view(Role.VIEWER)
def credit_control(request):
    """A page of flagged customers (sortable, searchable) with the organization's totals on top;
    everything in the streamed export."""
    currencies, currency, threshold, days, sort, search = _credit_control_query(request)
    result = cc.control_page(request.org, currency, days, sort=sort, search=search, page=page_number(request),
                             page_size=cc.PAGE_SIZE)
    # One customer link prefix for the page instead of a URL reversal per row.
    customer_base, cell_base = pk_prefix("customer_detail", request.org), pk_prefix("aging_cell", request.org)
    links, arrows = {}, {}
    for key in cc.SORTS:
        first = key if key in ("name", "code") else "-" + key
        new = "-" + key if sort == key else key if sort == "-" + key else first
        links[key] = "?" + query_string(request, drop=("page", "sort"), sort=new)
        arrows[key] = " ▲" if sort == key else " ▼" if sort == "-" + key else ""
    rows = [{"r": r, "customer_url": f"{customer_base}{r.customer_id}/",
             "late_url": f"{cell_base}{r.customer_id}/?currency={currency}&bucket=o"} for r in result.rows]
    return render(request, "reports/credit_control.html", {
        "rows": rows, "result": result, "days": days, "currency": currency, "search": search,
        "currencies": currencies, "overrides": recent_overrides(request.org), "links": links, "arrows": arrows,
        "issue_days": threshold, "export_qs": query_string(request, drop=("page",)),
        "prev_qs": query_string(request, page=result.page - 1), "next_qs": query_string(request, page=result.page + 1),
    })


@org_view(Role.VIEWER)
def credit_control_export(request):
    """Every flagged customer as CSV, streamed (the page shows 50 at a time)."""
    _currencies, currency, _threshold, days, sort, search = _credit_control_query(request)
    org, user = request.org, request.user

    def rows():
        yield ["code", "customer", "currency", "balance", "credit_limit", "over_by", f"overdue_over_{days}_days",
               "oldest_days"]
        # Streams after the view and the tenancy middleware returned: act for the organization again.
        with tenant_context(org, user):
            for r in cc.control_rows(org, currency, days, sort=sort, search=search):
                yield [r.code, r.name, currency, r.balance, r.credit_limit, r.over_by, r.late_amount,
                       "" if r.oldest_days is None else r.oldest_days]

    return csv_stream_response(rows(), f"credit-control-{org.slug}-{currency}.csv")


@org_view(Role.VIEWER)
def profit_and_loss(request):
    currencies = org_currencies(request.org)
    choices = currencies + ([ALL_IN_BASE] if len(currencies) > 1 else [])
    currency = request.GET.get("currency") if request.GET.get("currency") in choices else currencies[0]
    form = bound(PeriodForm, request)
    start, end = form.period()
    pnl = build_pnl(request.org, start, end, currency)
    return render(request, "reports/pnl.html", {"form": form, "pnl": pnl, "currency": pnl.currency,
                                                "in_base": currency == ALL_IN_BASE, "currencies": currencies})


# --- revenue by customer, tag or item (issue 18) ------------------------------------------------

@org_view(Role.VIEWER)
def revenue_report(request):
    """Revenue, credits and net by customer, tag or item for a period, with the previous period and
    the same period last year (reports.revenue); ?format=csv or xlsx exports the table."""

    currencies = org_currencies(request.org)
    currency = request.GET.get("currency") if request.GET.get("currency") in currencies else currencies[0]
    by = request.GET.get("by") if request.GET.get("by") in SEGMENTS else "customer"
    form = bound(PeriodForm, request)
    start, end = form.period()
    report = revenue_by_segment(request.org, by, start, end, currency)
    name = f"revenue-by-{by}-{start}-{end}"
    if request.GET.get("format") == "csv":
        return download(exports.revenue_csv(report), "text/csv; charset=utf-8", f"{name}.csv")
    if request.GET.get("format") == "xlsx":
        return download(exports.revenue_xlsx(report), XLSX_TYPE, f"{name}.xlsx")
    top = max([abs(r.net) for r in report.rows] or [0])
    bars = [(r, int(abs(r.net) * 100 / top) if top else 0) for r in report.rows]
    return render(request, "reports/revenue.html", {"form": form, "report": report, "bars": bars, "by": by,
                                                    "currency": currency, "currencies": currencies})


# --- unrealized exchange differences at a period end (issue 17, accounts.revaluation) ----------------

def _revaluation_day(request, data) -> datetime.date:
    try:
        return datetime.date.fromisoformat((data.get("date") or "").strip())
    except ValueError:
        return today_in(request.org).replace(day=1) - datetime.timedelta(days=1)  # the last month's end


@org_view(Role.VIEWER)
@require_safe
def revaluation_report(request):
    """Open foreign-currency balances on a day: booked and at that day's rates, and their difference;
    an owner can post it (with its reversal on the next day)."""

    day = _revaluation_day(request, request.GET)
    try:
        found, problem = revaluation.measure(request.org, day), None
    except revaluation.RevaluationError as e:
        found, problem = None, " ".join(e.messages)
    return render(request, "reports/revaluation.html", {
        "day": day, "found": found, "problem": problem, "base": request.org.base_currency,
        "next_day": day + datetime.timedelta(days=1), "can_post": can(request, Role.OWNER),
    })


@org_view(Role.VIEWER)
@require_safe
def revaluation_documents(request):
    """The revaluation of a day per open document: the rows stored with the posted entry, or, before it
    is posted, what posting it would store. Each customer's rows add up to its line of the entry."""

    day = _revaluation_day(request, request.GET)
    found, problem, rows = None, None, []
    try:
        found = revaluation.measure(request.org, day)
    except revaluation.RevaluationError as e:
        problem = " ".join(e.messages)
    if found is not None and found.entry is not None:
        rows = [{"customer_id": r.customer_id, "customer_name": r.customer.name, "currency": r.currency,
                 "kind": r.kind, "document_id": r.document_id, "number": r.number, "doc_date": r.doc_date,
                 "amount": r.amount, "booked": r.booked, "rate": r.rate, "current": r.current,
                 "difference": r.difference} for r in revaluation.breakdown(found.entry)]
    elif found is not None:
        rows = [{"customer_id": r.customer_id, "customer_name": r.customer_name, "currency": r.currency,
                 "kind": d.kind, "document_id": d.document_id, "number": d.number, "doc_date": d.doc_date,
                 "amount": d.amount, "booked": d.booked, "rate": d.rate, "current": d.current,
                 "difference": d.difference} for r in found.rows for d in r.documents]
    totals: dict[str, Decimal] = {}
    for row in rows:
        row["own_rate"] = (row["booked"] / row["amount"]).quantize(Decimal("1e-6")) if row["amount"] else None
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + row["difference"]
    return render(request, "reports/revaluation_documents.html", {
        "day": day, "found": found, "problem": problem, "rows": rows, "totals": sorted(totals.items()),
        "total": sum(totals.values(), Decimal(0)), "base": request.org.base_currency,
    })


@org_view(Role.OWNER)
@require_POST
def revaluation_post(request):
    day = _revaluation_day(request, request.POST)
    try:
        entry, reversal = revaluation.post(request.org, day, actor=request.user)
    except LedgerError as e:  # RevaluationError, or the ledger's own refusal (a closed period)
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("Posted the revaluation at %(day)s as entry #%(seq)s; it is reversed on "
                                    "%(next)s (entry #%(rseq)s).")
                         % {"day": day.isoformat(), "seq": entry.seq, "next": reversal.effective_date.isoformat(),
                            "rseq": reversal.seq})
    return redirect(reverse("revaluation_report", kwargs={"org_slug": request.org.slug})
                    + "?" + urlencode({"date": day.isoformat()}))
