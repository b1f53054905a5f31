"""Reports pages: the dashboard, aging, open items, statements, insights, forecast, credit control, P&L.

Every page is read-only for viewers; the only writes are the report settings (owners) and
sending statements (finance). Everything is scoped to request.org (and RLS underneath).
"""

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import Customer, Role
from accounts.permissions import org_view
from reports import exports
from reports.aging import PAGE_SIZE, AgingQuery, aging, cell_items, make_buckets
from reports.asof import open_items, org_currencies
from reports.forms import AgingForm, AsOfForm, ReportSettingsForm, bound
from reports.models import ReportSettings


def safe_url(name: str, **kwargs) -> str | None:
    """The URL of another app's page, or None while that page does not exist."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def item_url(org, item) -> str | None:
    if item.kind == "i":
        return safe_url("invoice_detail", org_slug=org.slug, pk=item.item_id)
    if item.kind == "p":
        return safe_url("payment_detail", org_slug=org.slug, pk=item.item_id)
    return safe_url("credit_note_detail", org_slug=org.slug, pk=item.item_id)


def query_string(request, drop=("page",), **changes) -> str:
    params = {k: v for k, v in request.GET.items() if k not in drop}
    params.update({k: v for k, v in changes.items() if v is not None})
    return urlencode(params)


# --- index and settings --------------------------------------------------------------------------

@org_view(Role.VIEWER)
def report_index(request):
    return render(request, "reports/index.html", {
        "trial_balance_url": safe_url("trial_balance", org_slug=request.org.slug),
    })


@org_view(Role.OWNER)
def report_settings(request):
    instance = ReportSettings.for_org(request.org)
    form = ReportSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        settings = form.save(commit=False)
        settings.organization = request.org
        settings.save()
        messages.success(request, _("Report settings saved."))
        return redirect("report_settings", org_slug=request.org.slug)
    return render(request, "reports/settings.html", {"form": form})


# --- aging -----------------------------------------------------------------------------------------

def _aging_query(request, page_size=PAGE_SIZE) -> tuple[AgingForm, AgingQuery]:
    settings = ReportSettings.for_org(request.org)
    currencies = org_currencies(request.org)
    form = bound(AgingForm, request, currencies=currencies, basis=settings.aging_basis)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    q = AgingQuery(
        as_of=form.value("as_of"), currency=form.value("currency") or request.org.base_currency,
        basis=form.value("basis") or settings.aging_basis, limits=settings.limits,
        tag=(form.value("tag") or "").strip(), min_amount=form.value("min_amount"),
        only_overdue=bool(form.value("overdue")), sort=form.value("sort") or "name", page=page, page_size=page_size,
    )
    return form, q


@org_view(Role.VIEWER)
def aging_report(request):
    form, q = _aging_query(request)
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
        "bucket_headers": bucket_headers,
        "export_qs": query_string(request, drop=("page",)),
        "prev_qs": query_string(request, page=report.page - 1), "next_qs": query_string(request, page=report.page + 1),
        "trial_balance_url": safe_url("trial_balance", org_slug=request.org.slug),
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
    else:
        try:
            bucket = int(raw)
            title = buckets[bucket].label
        except (ValueError, IndexError) as e:
            raise Http404 from e
    items = cell_items(request.org, customer.pk, q, bucket)
    rows = [{"item": it, "url": item_url(request.org, it), "age": it.age(q.as_of, "due")} for it in items]
    return render(request, "reports/aging_cell.html", {
        "customer": customer, "q": q, "title": title, "rows": rows, "bucket": bucket,
        "total": sum((it.amount for it in items), Decimal(0)),
        "back_qs": query_string(request, drop=("bucket",)),
    })


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@org_view(Role.VIEWER)
def aging_export(request, fmt):
    _form, q = _aging_query(request, page_size=None)
    report = aging(request.org, q)
    name = f"aging-{request.org.slug}-{q.as_of.isoformat()}-{q.currency}"
    if fmt == "csv":
        return _download(exports.aging_csv(report), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "xlsx":
        return _download(exports.aging_xlsx(report),
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{name}.xlsx")
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
    # Customers with anything open, from the aging (one fast query), then their items (direct).
    report = aging(request.org, AgingQuery(as_of=as_of, currency=currency, page_size=None, sort="name"))
    rows = report.rows
    if search:
        needle = search.lower()
        rows = [r for r in rows if needle in r.name.lower() or needle in r.code.lower()]
    page = Paginator(rows, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    items = open_items(request.org, as_of, [r.customer_id for r in page], currency=currency)
    by_customer = {}
    for it in items:
        by_customer.setdefault(it.customer_id, []).append(
            {"item": it, "url": item_url(request.org, it), "age": it.age(as_of, "due")})
    groups = [{"row": r, "items": by_customer.get(r.customer_id, []),
               "open": r.total + r.unapplied} for r in page]
    return render(request, "reports/open_items.html", {
        "form": form, "as_of": as_of, "currency": currency, "page": page, "groups": groups, "report": report,
        "search": search, "open_total": sum(report.everything.buckets, Decimal(0)),
    })


# --- dashboard -------------------------------------------------------------------------------------

@org_view(Role.VIEWER)
def dashboard(request):
    return render(request, "reports/dashboard.html", {
        "customer_count": Customer.objects.filter(organization=request.org).count(),
    })
