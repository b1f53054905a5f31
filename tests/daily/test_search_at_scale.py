"""The search and the lists' amount filters as row-level security lets indexes serve them (issue 21,
accounts/search_indexes.py): the leakproof operators give the same answers as Django's own lookups,
the ranked single query gives the same hits in the same order as ranking every match, and the
application role's plans use the indexes (which they cannot without the leakproof operators)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Case, F, IntegerField, Q, Value, When
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Customer
from accounts.search_ops import AmountAtLeast, AmountAtMost, AmountEquals, IContains
from invoicing.models import Invoice
from ledger_site.search import LIMIT, _amount, search
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from tests.factories import CustomerFactory
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db

# Texts over a small alphabet, so they often match; with LIKE's own characters (% _ \) which must
# match themselves, and both cases.
ALPHABET = "abAB1-%_\\ "
TEXTS = st.text(alphabet=ALPHABET, min_size=1, max_size=4)


@pytest.fixture
def crowd(world):
    """Organization A with customers, invoices and payments whose names, codes and references are
    made of the few characters above (many ties, more than LIMIT matches for short texts);
    organization B with look-alikes that must never show."""
    org, owner = world.org, world.owner
    words = ["ab", "Ab-1", "a%b", "a_b", "b\\a", "AB 1", "ba", "1ab", "a b", "bb%"]
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org, name=f"{words[n % 10]} {words[(n * 3) % 10]}",
                                     code=f"{words[(n * 7) % 10].upper().replace(' ', '')}{n}",
                                     tax_id=words[n % 10] if n % 3 == 0 else "",
                                     billing_emails=f"{words[(n + 1) % 10].replace(' ', '')}@x.example")
                     for n in range(24)]
        day = date.today() - timedelta(days=30)
        for n in range(14):
            issued(org, customers[n % 5], [("Work", "1", f"{(n % 4) * 10 + 10}.00", None)],
                   reference=words[(n * 3) % 10], issue_date=day + timedelta(days=n % 6))
        for n in range(10):
            pay(org, customers[n % 5], Decimal(f"{(n % 3) * 10 + 10}.00"), reference=words[n % 10],
                allocation="none", received_date=day + timedelta(days=n % 4))
    with tenant_context(world.other_org, world.outsider):
        CustomerFactory(organization=world.other_org, name="ab ab", code="AB")
    return world


def _rank(exact: Q, starts: Q):
    return Case(When(exact, then=Value(0)), When(starts, then=Value(1)), default=Value(2),
                output_field=IntegerField())


def plain_search(org, text):
    """The search as it was before issue 21's scale work: Django's icontains / iexact, every match
    ranked by a CASE and sorted (no index can serve it under row-level security)."""
    text = text.strip()
    amount = _amount(text)
    customers = (Customer.objects.filter(organization=org)
                 .filter(Q(name__icontains=text) | Q(code__icontains=text) | Q(billing_emails__icontains=text)
                         | Q(tax_id__icontains=text))
                 .annotate(rank=_rank(Q(code__iexact=text) | Q(tax_id__iexact=text), Q(name__istartswith=text)))
                 .order_by("rank", "name", "pk").values_list("pk", flat=True)[:LIMIT])
    invoice_q = Q(number__icontains=text) | Q(reference__icontains=text)
    if amount is not None:
        invoice_q |= Q(total=amount)
    invoices = (Invoice.objects.filter(organization=org).filter(invoice_q)
                .annotate(rank=_rank(Q(number__iexact=text) | Q(reference__iexact=text) | Q(total=amount or -1),
                                     Q(number__istartswith=text)))
                .order_by("rank", "-issue_date", "-pk").values_list("pk", flat=True)[:LIMIT])
    payment_q = Q(reference__icontains=text)
    if amount is not None:
        payment_q |= Q(amount=amount)
    payments = (Payment.objects.filter(organization=org).filter(payment_q)
                .annotate(rank=_rank(Q(reference__iexact=text) | Q(amount=amount or -1),
                                     Q(reference__istartswith=text)))
                .order_by("rank", "-received_date", "-pk").values_list("pk", flat=True)[:LIMIT])
    return {"customers": list(customers), "invoices": list(invoices), "payments": list(payments)}


def ids(hits):
    return [int(h.url.rstrip("/").rsplit("/", 1)[1]) for h in hits]


def test_the_search_gives_the_same_hits_in_the_same_order_as_ranking_every_match(crowd):
    org = crowd.org
    checked = []

    @settings(max_examples=40, deadline=None)
    @given(text=st.one_of(TEXTS, st.sampled_from(["10", "20.00", "30", "ab", "AB", "a%", "1"])))
    def same(text):
        if len(text.strip()) < 2 and not text.strip().isdigit():
            return
        found = search(org, text)
        expected = plain_search(org, text)
        assert {kind: ids(hits) for kind, hits in found.items()} == expected, text
        checked.append(sum(map(len, expected.values())))

    with tenant_context(org, crowd.owner):
        same()
    assert max(checked) >= LIMIT  # some texts filled a whole list: the limit and the ranks were exercised


@given(low=st.decimals(min_value=0, max_value=50, places=3), high=st.decimals(min_value=0, max_value=50, places=3))
@settings(max_examples=25, deadline=None)
def _amount_filters_agree(org, low, high):
    base = Invoice.objects.filter(organization=org)
    for mine, django in ((AmountAtLeast(F("total"), low), Q(total__gte=low)),
                         (AmountAtMost(F("total"), high), Q(total__lte=high)),
                         (AmountEquals(F("total"), low), Q(total=low))):
        assert set(base.filter(mine).values_list("pk", flat=True)) == set(base.filter(django).values_list("pk",
                                                                                                            flat=True))


def test_the_leakproof_amount_comparisons_answer_like_djangos(crowd):
    with tenant_context(crowd.org, crowd.owner):
        _amount_filters_agree(crowd.org)


def test_escaped_text_matches_itself_only(crowd):
    with tenant_context(crowd.org, crowd.owner):
        names = set(Customer.objects.filter(organization=crowd.org).filter(IContains(F("name"), "a%b"))
                    .values_list("name", flat=True))
        assert names and all("a%b" in n.lower() for n in names)  # % is a character here, not a wildcard
        assert not Customer.objects.filter(organization=crowd.org).filter(IContains(F("name"), "a%%b")).exists()


def test_the_search_and_amount_operators_are_leakproof_and_indexable(crowd):
    """Under row-level security a condition that is not leakproof is never an index condition: it
    is a filter over every row of the organization. Ours are leakproof, and each is its index
    class's operator (the planner's choice on these tiny tables says nothing about 1,000,000 rows:
    bench/search_bench.py measures that). Made without a superuser or pg_trgm, the classes and
    indexes do not exist (accounts/search_indexes.py); the test database is made by a superuser."""
    from accounts.search_indexes import SEARCH_INDEXES, made_here

    with connection.cursor() as cursor:
        cursor.execute("SELECT o.oprname, p.proleakproof FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode"
                       " WHERE o.oprname IN ('#~~*#', '#<#', '#<=#', '#=#', '#>=#', '#>#') ORDER BY 1")
        assert cursor.fetchall() == [(op, True) for op in sorted(["#~~*#", "#<#", "#<=#", "#=#", "#>=#", "#>#"])]
        cursor.execute("SELECT f.opfname, o.oprname, a.amopstrategy FROM pg_amop a"
                       " JOIN pg_opfamily f ON f.oid = a.amopfamily JOIN pg_operator o ON o.oid = a.amopopr"
                       " WHERE f.opfname LIKE 'ledger_%%' ORDER BY 1, 3")
        families = cursor.fetchall()
        trigram = made_here(cursor, "search_invoice_trgm")
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [list(SEARCH_INDEXES)])
        indexes = {row[0] for row in cursor.fetchall()}
    numeric = [("ledger_numeric_ops", op, n) for n, op in enumerate(["#<#", "#<=#", "#=#", "#>=#", "#>#"], 1)]
    assert families == numeric + ([("ledger_trgm_ops", "#~~*#", 4)] if trigram else [])
    assert indexes == {n for n in SEARCH_INDEXES if trigram or not n.endswith("_trgm")}
    with tenant_context(crowd.org, crowd.owner):  # the conditions as the application role writes them
        sql = str(Invoice.objects.filter(IContains(F("number"), "1"), AmountAtLeast(F("total"), 5)).query)
    assert "#~~*#" in sql and "#>=#" in sql
