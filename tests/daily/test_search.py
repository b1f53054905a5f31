"""The global search (ledger_site.search, issue 21 point 3): relevance for exact numbers, amounts
and names, scoping to the organization (application filter and row-level security), and a
query-count pin (three queries whatever the data size)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Customer
from ledger_site.search import search
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def books():
    org, owner = make_org(name="Search Co", slug="search-co")
    other, other_owner = make_org(name="Other Co", slug="other-co")
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org, name="Acme Trading", code="ACME", tax_id="IE1234567T",
                               billing_emails="ap@acme.example")
        acorn = CustomerFactory(organization=org, name="Big Acme Holdings", code="BAH")
        first = issued(org, acme, [("Work", "1", "1250.00", None)], reference="PO-77")
        second = issued(org, acorn, [("Work", "1", "99.00", None)])
        payment = pay(org, acme, Decimal("640.00"), reference="BANK-ACME-1")
    with tenant_context(other, other_owner):
        CustomerFactory(organization=other, name="Acme Elsewhere", code="ACME")
    return org, owner, acme, acorn, first, second, payment, other, other_owner


def labels(hits):
    return [h.label for h in hits]


def test_names_codes_emails_and_tax_ids(books):
    org, owner, acme, acorn, *_ = books
    with tenant_context(org, owner):
        found = search(org, "acme")["customers"]
        assert labels(found) == ["Acme Trading (ACME)", "Big Acme Holdings (BAH)"]  # exact code first
        assert labels(search(org, "ap@acme")["customers"]) == ["Acme Trading (ACME)"]
        assert labels(search(org, "ie1234567t")["customers"]) == ["Acme Trading (ACME)"]
        assert labels(search(org, "big a")["customers"]) == ["Big Acme Holdings (BAH)"]


def test_exact_numbers_references_and_amounts(books):
    org, owner, acme, acorn, first, second, payment, *_ = books
    with tenant_context(org, owner):
        assert labels(search(org, first.number)["invoices"])[0] == first.number
        assert labels(search(org, "po-77")["invoices"]) == [first.number]
        # amounts typed as people type them: 1,250.00 finds the invoice's total, 640 the payment
        assert labels(search(org, "1,250.00")["invoices"]) == [first.number]
        assert labels(search(org, "640")["payments"]) == ["BANK-ACME-1"]
        assert labels(search(org, "bank-acme")["payments"]) == ["BANK-ACME-1"]
        assert search(org, "1,5")["invoices"] == []  # ambiguous: no amount, no crash


def test_another_organizations_rows_are_never_found(books):
    org, owner, *_, other, other_owner = books
    with tenant_context(org, owner):
        assert all("Elsewhere" not in h.label for h in search(org, "acme")["customers"])
    # Row-level security underneath: even the other organization's object, searched in this
    # organization's database context, finds nothing of the other one.
    with tenant_context(org, owner):
        assert labels(search(other, "acme")["customers"]) == []
    with tenant_context(other, other_owner):
        assert labels(search(other, "acme")["customers"]) == ["Acme Elsewhere (ACME)"]
        assert Customer.objects.count() == 1


def test_three_queries_whatever_the_results(books):
    org, owner, *_ = books
    with tenant_context(org, owner):
        for text in ("acme", "1,250.00", "nothing-here"):
            with CaptureQueriesContext(connection) as queries:
                search(org, text)
            assert len(queries) == 3, [q["sql"] for q in queries]


def test_json_for_the_top_bar_and_a_results_page(books):
    org, owner, acme, *_ = books
    client = Client()
    client.force_login(owner)
    data = client.get(f"/o/{org.slug}/search/", {"q": "acme", "format": "json"}).json()
    assert data["customers"][0]["url"] == f"/o/{org.slug}/customers/{acme.pk}/"
    page = client.get(f"/o/{org.slug}/search/", {"q": "acme"}).content.decode()
    assert "Acme Trading (ACME)" in page and "Elsewhere" not in page


@pytest.mark.django_db
def test_the_trigram_indexes_exist_exactly_where_the_database_offers_pg_trgm():
    """Debian's PostgreSQL has pg_trgm and gets the trigram indexes; the embedded development database
    has not, and its migrations must still run (accounts/search_indexes.py). The amount indexes (btree
    on the leakproof numeric class) need only a superuser owner, which both test databases have."""
    from django.db import connection

    from accounts.search_indexes import SEARCH_INDEXES, trigram_available

    with connection.cursor() as cursor:
        available = trigram_available(cursor)
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [list(SEARCH_INDEXES)])
        found = {row[0] for row in cursor.fetchall()}
    trigram = {name for name, (_table, method, _columns) in SEARCH_INDEXES.items() if method == "gin"}
    assert found == (set(SEARCH_INDEXES) if available else set(SEARCH_INDEXES) - trigram)
