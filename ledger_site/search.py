"""The global search of the top bar (issue 21 point 3): customers (name, code, e-mail, tax id),
invoices (number, reference, total) and payments (reference, amount) of the request's
organization. Three queries whatever the data size (tests/daily/test_search.py pins them), each
served by a trigram index or a btree on (organization, amount) through the leakproof operators of
accounts.search_ops (under row-level security nothing else can use an index: accounts/search_indexes.py);
row-level security scopes them like every other query. Lives here because it reads three apps.

Relevance: an exact code/number/reference first, then names or numbers that start with the text,
then the rest; amounts match exactly, in the organization's way of writing numbers."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connections
from django.db.models import F, IntegerField, Value
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.locale import NumberInputError, parse_number
from accounts.models import Customer, Role
from accounts.money import format_money
from accounts.permissions import org_view
from accounts.search_ops import AmountEquals, IContains, IExact, IStartsWith
from invoicing.models import Invoice
from payments.models import Payment

LIMIT = 8
MAX_QUERY = 100


@dataclass
class Hit:
    kind: str
    label: str
    detail: str
    url: str


def _amount(text: str) -> Decimal | None:
    if not any(c.isdigit() for c in text):
        return None
    try:
        value = parse_number(text)
    except NumberInputError:
        return None
    return value if value is not None and value > 0 and abs(value) < Decimal(10) ** 15 else None


def _ranked(qs, ranks, order, fields, limit, sorted_ranks=()):
    """The first `limit` rows of `qs` matching any of `ranks` (conditions, best first), ordered by
    the best rank each row meets, then `order`: one query, a UNION ALL of one branch per rank, each
    its own first `limit` rows in `order`. A row a better rank already gave is dropped from the
    worse ones, so this is exactly the first `limit` rows of ORDER BY rank, *order; and each branch
    can be served by an index (a trigram bitmap for a rare text, a walk of the order's index that
    stops after `limit` rows for a common one) instead of ranking every match of a broad text.

    The last (broadest) rank is read only when the better ones gave fewer than `limit` rows: else
    none of its rows could be shown. A rank in `sorted_ranks` reads all its matches and sorts them
    (a fence keeps the planner off the order's index): for matches that sit together in that order,
    like names starting with a text, a walk would read every row before them first."""
    order_sql = ", ".join(f'"{o.lstrip("-")}" {"DESC" if o.startswith("-") else "ASC"}' for o in order)
    parts = []
    for n, condition in enumerate(ranks):
        branch = qs.filter(condition).annotate(rank=Value(n, output_field=IntegerField())).values(*fields, "rank")
        if n in sorted_ranks:
            sql, params = branch.order_by().query.sql_with_params()
            sql = f"SELECT * FROM ({sql} OFFSET 0) AS m ORDER BY {order_sql} LIMIT {int(limit)}"  # noqa: S608
        else:
            sql, params = branch.order_by(*order)[:limit].query.sql_with_params()
        parts.append((sql, params))
    if len(parts) == 1:
        sql, params = parts[0]
    else:  # the ORM's own SQL for each branch; the values are parameters
        better = " UNION ALL ".join(f"({p})" for p, _params in parts[:-1])
        sql = (f"WITH better AS MATERIALIZED ({better}) SELECT * FROM better UNION ALL "  # noqa: S608
               f"SELECT * FROM ({parts[-1][0]}) AS worst WHERE (SELECT count(DISTINCT pk) FROM better) < %s "
               f"ORDER BY rank, {order_sql}")
        params = [*(v for _sql, p in parts[:-1] for v in p), *parts[-1][1], limit]
    with connections[qs.db].cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    seen, out = set(), []
    for row in rows:
        if row["pk"] not in seen:
            seen.add(row["pk"])
            out.append(row)
    return out[:limit]


def search(org, text: str, limit: int = LIMIT) -> dict[str, list[Hit]]:
    text = (text or "").strip()[:MAX_QUERY]
    if len(text) < 2 and not text.isdigit():
        return {"customers": [], "invoices": [], "payments": []}
    amount = _amount(text)
    slug = org.slug

    # Under row-level security only leakproof conditions can use an index: accounts.search_ops
    # writes them (accounts/search_indexes.py); exact code or tax id, then names that start with
    # the text, then anything containing it.
    customers = _ranked(
        Customer.objects.filter(organization=org),
        [IExact(F("code"), text) | IExact(F("tax_id"), text), IStartsWith(F("name"), text),
         IContains(F("name"), text) | IContains(F("code"), text) | IContains(F("billing_emails"), text)
         | IContains(F("tax_id"), text)],
        ("name", "pk"), ("pk", "name", "code", "archived_at"), limit, sorted_ranks={1})
    exact = IExact(F("number"), text) | IExact(F("reference"), text)
    if amount is not None:
        exact |= AmountEquals(F("total"), amount)
    invoices = _ranked(
        Invoice.objects.filter(organization=org),
        [exact, IStartsWith(F("number"), text), IContains(F("number"), text) | IContains(F("reference"), text)],
        ("-issue_date", "-pk"), ("pk", "number", "issue_date", "total", "currency", "customer__name"), limit)
    exact = IExact(F("reference"), text)
    if amount is not None:
        exact |= AmountEquals(F("amount"), amount)
    payments = _ranked(
        Payment.objects.filter(organization=org),
        [exact, IStartsWith(F("reference"), text), IContains(F("reference"), text)],
        ("-received_date", "-pk"), ("pk", "reference", "received_date", "amount", "currency", "customer__name"),
        limit)
    return {
        "customers": [Hit("customer", f"{c['name']} ({c['code']})", _("archived") if c["archived_at"] else "",
                          reverse("customer_detail", args=[slug, c["pk"]])) for c in customers],
        "invoices": [Hit("invoice", i["number"] or _("Draft #%(n)s") % {"n": i["pk"]},
                         f"{i['customer__name']} · {format_money(i['total'], i['currency'])}",
                         reverse("invoice_detail", args=[slug, i["pk"]])) for i in invoices],
        "payments": [Hit("payment", p["reference"] or _("Payment #%(n)s") % {"n": p["pk"]},
                         f"{p['customer__name']} · {format_money(p['amount'], p['currency'])}",
                         reverse("payment_detail", args=[slug, p["pk"]])) for p in payments],
    }


@require_GET
@never_cache
@org_view(Role.VIEWER)
def search_view(request):
    """?q=: a results page; with ?format=json, the top bar's suggestions (static/js/search.js)."""
    q = request.GET.get("q", "")
    results = search(request.org, q)
    if request.GET.get("format") == "json":
        return JsonResponse({kind: [hit.__dict__ for hit in hits] for kind, hits in results.items()})
    return render(request, "search.html", {"q": q.strip()[:MAX_QUERY], "results": results,
                                           "empty": not any(results.values())})
