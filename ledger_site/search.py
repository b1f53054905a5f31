"""The global search of the top bar (issue 21 point 3): customers (name, code, e-mail, tax id),
invoices (number, reference, total) and payments (reference, amount) of the request's
organization. Three queries whatever the data size (tests/daily/test_search.py pins them), each
served by a trigram index on UPPER(column) (icontains) or a btree on (organization, amount);
row-level security scopes them like every other query. Lives here because it reads three apps.

Relevance: an exact code/number/reference first, then names or numbers that start with the text,
then the rest; amounts match exactly, in the organization's way of writing numbers."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, IntegerField, Q, Value, When
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


def _rank(exact: Q, starts: Q):
    return Case(When(exact, then=Value(0)), When(starts, then=Value(1)), default=Value(2),
                output_field=IntegerField())


def search(org, text: str, limit: int = LIMIT) -> dict[str, list[Hit]]:
    text = (text or "").strip()[:MAX_QUERY]
    if len(text) < 2 and not text.isdigit():
        return {"customers": [], "invoices": [], "payments": []}
    amount = _amount(text)
    slug = org.slug

    customers = (Customer.objects.filter(organization=org)
                 .filter(Q(name__icontains=text) | Q(code__icontains=text) | Q(billing_emails__icontains=text)
                         | Q(tax_id__icontains=text))
                 .annotate(rank=_rank(Q(code__iexact=text) | Q(tax_id__iexact=text), Q(name__istartswith=text)))
                 .order_by("rank", "name", "pk")
                 .only("pk", "name", "code", "currency", "archived_at")[:limit])
    invoice_q = Q(number__icontains=text) | Q(reference__icontains=text)
    if amount is not None:
        invoice_q |= Q(total=amount)
    invoices = (Invoice.objects.filter(organization=org).filter(invoice_q)
                .annotate(rank=_rank(Q(number__iexact=text) | Q(reference__iexact=text) | Q(total=amount or -1),
                                     Q(number__istartswith=text)))
                .select_related("customer").only("pk", "number", "status", "total", "currency", "customer__name")
                .order_by("rank", "-issue_date", "-pk")[:limit])
    payment_q = Q(reference__icontains=text)
    if amount is not None:
        payment_q |= Q(amount=amount)
    payments = (Payment.objects.filter(organization=org).filter(payment_q)
                .annotate(rank=_rank(Q(reference__iexact=text) | Q(amount=amount or -1),
                                     Q(reference__istartswith=text)))
                .select_related("customer").only("pk", "reference", "amount", "currency", "received_date",
                                                 "customer__name")
                .order_by("rank", "-received_date", "-pk")[:limit])
    return {
        "customers": [Hit("customer", f"{c.name} ({c.code})", _("archived") if c.archived_at else "",
                          reverse("customer_detail", args=[slug, c.pk])) for c in customers],
        "invoices": [Hit("invoice", i.number or _("Draft #%(n)s") % {"n": i.pk},
                         f"{i.customer.name} · {format_money(i.total, i.currency)}",
                         reverse("invoice_detail", args=[slug, i.pk])) for i in invoices],
        "payments": [Hit("payment", p.reference or _("Payment #%(n)s") % {"n": p.pk},
                         f"{p.customer.name} · {format_money(p.amount, p.currency)}",
                         reverse("payment_detail", args=[slug, p.pk])) for p in payments],
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
