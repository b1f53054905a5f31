"""Customers: list, create, edit, archive. The detail page is filled by the ledger."""

import re
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, FilteredRelation, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import credit_terms
from accounts.customer_activity import has_financial_activity
from accounts.customer_picker import live_data, suggest
from accounts.forms import CUSTOMER_LANGUAGES, CustomerForm
from accounts.ledger import customer_balance
from accounts.models import Customer, CustomerBalance, Role
from accounts.permissions import can, org_view
from ledger_site import listing
from ledger_site.listing import CountedPaginator, capped, more_than_cap
from ledger_site.sorting import sort_order

OWNER_ONLY_FIELDS = ("credit_limit", "payment_terms_days")
CUSTOMER_DETAIL_PANELS = []  # callables(request, customer) -> (template, context) from other apps
# Columns other apps add to the customer list: {name: callable(org) -> an expression per customer}
# (invoicing plugs in "overdue"). The list shows and sorts by them (ledger_site.sorting).
CUSTOMER_LIST_ANNOTATIONS = {}
# ... and, for a column the list can be sorted by, {name: callable(org) -> a queryset of (cid, s)
# rows, one per customer with a non-zero sum}: sorted, every customer's value is needed, and one
# grouped join (SortedBySum) beats a subquery per customer (100,000 at the size).
CUSTOMER_LIST_SUMS = {}
PAGE_SIZE = 25


def customer_queryset(request):
    return Customer.objects.filter(organization=request.org)


def with_balance(customers, joined: bool):
    """Annotate `balance`: the customer's maintained balance row in its own currency, or 0.

    Sorted by balance, every customer's balance is needed: one LEFT JOIN (a hash join) instead of a
    subquery per customer (~0.3 s at 100,000 customers). Otherwise the page's 25 rows come from an
    index in name or code order and a subquery for just those rows is cheaper than joining them all."""
    if joined:
        return customers.annotate(
            own_balance=FilteredRelation("balances", condition=Q(balances__currency=F("currency"))),
            balance=Coalesce(F("own_balance__amount"), Decimal(0)))
    return customers.annotate(balance=Coalesce(Subquery(
        CustomerBalance.objects.filter(customer=OuterRef("pk"), currency=OuterRef("currency")).values("amount")[:1]),
        Decimal(0)))


def annotated(org, customers, joined: bool):
    """What each customer owes now (the maintained balance row) and the columns other apps add
    (invoicing: how much is overdue)."""
    return with_balance(customers, joined=joined).annotate(
        **{name: Coalesce(column(org), Decimal(0)) for name, column in CUSTOMER_LIST_ANNOTATIONS.items()})


class SortedBySum:
    """The customer list sorted by a per-customer sum another app computes (`sums`: rows of cid and
    s, none for a customer whose sum is 0). The page's ids come from one statement, the filtered
    customers LEFT JOIN the grouped sums, ordered by the sum (0 when none) then id; the page's rows
    are then read by id with `annotate` (a subquery each, for 25 rows). Same order and values as
    ordering the annotated queryset, without a subquery per customer of the organization."""

    ordered = True  # for Paginator: the order is total (the id breaks ties)

    def __init__(self, customers, sums, descending: bool, annotate):
        self.customers, self.sums, self.descending, self.annotate = customers, sums, descending, annotate

    def __getitem__(self, window):
        direction = "DESC" if self.descending else "ASC"
        ids_sql, ids_params = self.customers.order_by().values("pk").query.sql_with_params()
        sums_sql, sums_params = self.sums.query.sql_with_params()
        limit = window.stop - window.start
        with connection.cursor() as cursor:
            cursor.execute(  # the two parts are the ORM's own SQL; values are parameters
                f"SELECT c.id FROM ({ids_sql}) AS c(id) LEFT JOIN ({sums_sql}) AS s(cid, s) ON s.cid = c.id "  # noqa: S608
                f"ORDER BY COALESCE(s.s, 0) {direction}, c.id {direction} LIMIT %s OFFSET %s",
                [*ids_params, *sums_params, limit, window.start])
            ids = [row[0] for row in cursor.fetchall()]
        found = {c.pk: c for c in self.annotate(Customer.objects.filter(pk__in=ids))}
        return [found[pk] for pk in ids if pk in found]


class SortedByBalance:
    """The customer list sorted by balance, owing most first (or, ascending, most in credit first).
    A customer with no balance row owes 0, so every customer before the first 0 has a row with a
    non-zero amount: such a page is read by walking customer_balance_list (organization, amount,
    customer) in order and stops after the page, where the LEFT JOIN of every customer with its
    row and a sort of them all took ~150-400 ms at 100,000 customers. A page that reaches the
    zeros is taken from `fallback` (that ordered queryset), so the order is the same either way."""

    ordered = True  # for Paginator: the order is total (the id breaks ties)

    def __init__(self, org, customers, descending: bool, fallback, annotate):
        self.org, self.customers, self.descending = org, customers, descending
        self.fallback, self.annotate = fallback, annotate

    def __getitem__(self, window):
        sign = Q(amount__gt=0) if self.descending else Q(amount__lt=0)
        order = ("-amount", "-customer_id") if self.descending else ("amount", "customer_id")
        ids = list(CustomerBalance.objects.filter(
            sign, organization=self.org, currency=F("customer__currency"),
            customer__in=self.customers.order_by().values("pk"),
        ).order_by(*order).values_list("customer_id", flat=True)[window])
        if len(ids) < window.stop - window.start:  # the page reaches customers who owe 0
            return self.fallback[window]
        found = {c.pk: c for c in self.annotate(Customer.objects.filter(pk__in=ids))}
        return [found[pk] for pk in ids]


@org_view(Role.VIEWER)
def customer_list(request):
    customers = customer_queryset(request)
    q = request.GET.get("q", "").strip()
    if q:
        customers = customers.filter(
            Q(name__icontains=q) | Q(code__icontains=q) | Q(billing_emails__icontains=q)
        )
    status = request.GET.get("status", "active")
    if status == "active":
        customers = customers.filter(archived_at__isnull=True)
    elif status == "archived":
        customers = customers.filter(archived_at__isnull=False)
    tag = request.GET.get("tag", "").strip()
    if tag:  # a whole tag of the comma-separated list: "eu" finds "retail, eu", not "europe"
        customers = customers.filter(tags__iregex=r"(^|,)\s*" + re.escape(tag) + r"\s*(,|$)")
    sort, order = sort_order("customers", request.GET.get("sort"))
    # Counted up to CAP + 1 rows (ledger_site.listing): above that, "more than CAP" and no last page.
    count = capped(customers).count()
    key = sort.lstrip("-")
    if key in CUSTOMER_LIST_SUMS:
        rows = SortedBySum(customers, CUSTOMER_LIST_SUMS[key](request.org), sort.startswith("-"),
                           lambda qs: annotated(request.org, qs, joined=False))
    else:
        rows = annotated(request.org, customers, joined=key == "balance").order_by(*order)
        if key == "balance":
            rows = SortedByBalance(request.org, customers, sort.startswith("-"), rows,
                                   lambda qs: annotated(request.org, qs, joined=False))
    page = CountedPaginator(rows, PAGE_SIZE, count, more=more_than_cap(count)).get_page(request.GET.get("page"))
    total_count = capped(customer_queryset(request)).count()
    return render(request, "accounts/customer_list.html", {
        "page": page, "q": q, "status": status, "tag": tag, "sort": sort,
        "total_count": total_count, "total_more": more_than_cap(total_count), "more_than": listing.CAP,
    })


@require_GET
@never_cache
@org_view(Role.VIEWER)
def customer_lookup(request):
    """The customer picker's suggestions: up to 20 active customers of this organization whose
    code starts with, or whose name contains, ?q= (static/js/customer_picker.js); with
    ?archived=1 (a list's filter) archived customers too, flagged `archived`."""
    archived = request.GET.get("archived") == "1"
    results = [{"id": c.pk, "label": str(c), "name": c.name, "code": c.code, "archived": c.is_archived,
                "data": live_data(c)}
               for c in suggest(request.org, request.GET.get("q", ""), archived=archived)]
    return JsonResponse({"results": results})


@org_view(Role.FINANCE)
def customer_create(request):
    initial = {"currency": request.org.base_currency}
    form = CustomerForm(request.POST or None, org=request.org, initial=initial)
    if request.method == "POST" and form.is_valid():
        customer = form.save()
        messages.success(request, _("Customer “%(name)s” created.") % {"name": customer.name})
        return redirect("customer_detail", org_slug=request.org.slug, pk=customer.pk)
    return render(request, "accounts/customer_form.html", {"form": form, "creating": True})


@org_view(Role.FINANCE)
def customer_edit(request, pk):
    customer = get_object_or_404(customer_queryset(request), pk=pk)
    before = {name: getattr(customer, name) for name in OWNER_ONLY_FIELDS}
    form = CustomerForm(request.POST or None, instance=customer, org=request.org)
    if not can(request, Role.OWNER):
        for name in OWNER_ONLY_FIELDS:
            form.fields[name].widget.attrs["readonly"] = True
            form.fields[name].help_text = _("Set by an owner; propose a change on the customer's credit-terms page.")
    if request.method == "POST" and form.is_valid():
        if any(form.cleaned_data.get(name, before[name]) != before[name] for name in OWNER_ONLY_FIELDS):
            if not can(request, Role.OWNER):
                # Credit limit and payment terms are the owner's decision (finance proposes them on the
                # credit-terms page); nothing is saved.
                raise PermissionDenied(_("Only an owner can change the credit limit or payment terms."))
            with credit_terms.owner_edit(request.org, request.user):
                form.save()
        else:
            form.save()
        messages.success(request, _("Changes saved."))
        return redirect("customer_detail", org_slug=request.org.slug, pk=customer.pk)
    return render(request, "accounts/customer_form.html", {"form": form, "customer": customer})


@org_view(Role.VIEWER)
def customer_detail(request, pk):
    customer = get_object_or_404(customer_queryset(request), pk=pk)
    panels = [panel(request, customer) for panel in CUSTOMER_DETAIL_PANELS]
    return render(request, "accounts/customer_detail.html", {
        "customer": customer, "panels": panels,
        "has_activity": has_financial_activity(customer),
        "language_name": dict(CUSTOMER_LANGUAGES).get(customer.language, customer.language),
    })


@require_POST
@org_view(Role.FINANCE)
def customer_archive(request, pk):
    customer = get_object_or_404(customer_queryset(request), pk=pk)
    archive = request.POST.get("archive", "1") == "1"
    if archive and request.POST.get("confirm") != "1":
        # Archiving someone who still owes money is one click too easy (issue 21 point 14): ask.

        balance = customer_balance(customer)
        if balance != 0:
            return render(request, "accounts/customer_archive_confirm.html",
                          {"customer": customer, "balance": balance})
    customer.archived_at = timezone.now() if archive else None
    customer.save(update_fields=["archived_at"])
    messages.success(request, _("Customer archived.") if archive else _("Customer restored."))
    return redirect("customer_detail", org_slug=request.org.slug, pk=customer.pk)


@require_POST
@org_view(Role.FINANCE)
def customer_delete(request, pk):
    customer = get_object_or_404(customer_queryset(request), pk=pk)
    if has_financial_activity(customer):
        messages.error(request, _("This customer has financial activity and can only be archived."))
        return redirect("customer_detail", org_slug=request.org.slug, pk=customer.pk)
    customer.delete()
    messages.success(request, _("Customer deleted."))
    return redirect("customer_list", org_slug=request.org.slug)
