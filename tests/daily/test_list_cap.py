"""Lists count at most CAP + 1 matching rows (ledger_site.listing, issue 21): above that the page
says "more than CAP", shows no totals and pages on without a last page; the rows shown, and their
order, are the same as with an exact count, on every page and sort."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from ledger_site import listing
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory
from tests.invoicing_helpers import draft, issued
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy(world):
    org = world.org
    day = date.today() - timedelta(days=20)
    with tenant_context(org, world.owner):
        customers = [CustomerFactory(organization=org, name=f"Customer {n}") for n in range(4)]
        for n in range(9):
            issued(org, customers[n % 4], [("Work", "1", f"{(n % 3) * 100 + 50}.00", None)],
                   issue_date=day + timedelta(days=n % 5))
        draft(org, customers[0])
        for n in range(7):
            pay(org, customers[n % 4], Decimal(f"{(n % 2) * 10 + 5}.00"), allocation="none",
                received_date=day + timedelta(days=n % 3))
    return world


KIND = {"invoice_list": "invoices", "payment_list": "payments", "customer_list": "customers"}


def rows_of(html: str, name: str) -> list[str]:
    """The row ids of a page in order (a row may link its document more than once)."""
    return list(dict.fromkeys(re.findall(rf'href="/o/[^"]+/{KIND[name]}/(\d+)/"', html)))


def pages(client, url, query, last):
    return [client.get(f"{url}?{query}&page={n}").content.decode() for n in range(1, last + 1)]


@pytest.mark.parametrize("name, queries", [
    ("invoice_list", ["sort=-total", "sort=customer", "status=open&sort=due", "amount_min=100&sort=-issued"]),
    ("payment_list", ["sort=-amount", "sort=received"]),
    ("customer_list", ["sort=name", "sort=-balance"]),
])
def test_capped_lists_show_the_same_rows_in_the_same_order(busy, monkeypatch, name, queries):
    from django.urls import reverse

    client = busy.client("viewer")
    url = reverse(name, kwargs={"org_slug": busy.org.slug})
    for view in ("invoicing.views.lists", "payments.views.payments", "accounts.views.customers"):
        monkeypatch.setattr(f"{view}.PAGE_SIZE", 2)  # 2 rows a page: several pages of a few rows
    for q in queries:
        monkeypatch.setattr("ledger_site.listing.CAP", 10_000)
        exact = pages(client, url, q, 6)
        monkeypatch.setattr("ledger_site.listing.CAP", 3)
        capped = pages(client, url, q, 6)
        # the capped pages run out (empty) where the rows do; the exact paginator repeats its last page
        n_pages = next((n for n, p in enumerate(capped) if not rows_of(p, name)), len(capped))
        assert n_pages >= 2
        assert [rows_of(p, name) for p in capped[:n_pages]] == [rows_of(p, name) for p in exact[:n_pages]], q
        shown = [r for p in capped[:n_pages] for r in rows_of(p, name)]
        assert len(shown) == len(set(shown)) == len(set(shown) | {r for p in exact for r in rows_of(p, name)})
        if len(shown) > 3:  # more than CAP rows match: said so, no totals, no last page
            first, last = capped[0], capped[n_pages - 1]
            assert "Page 1 of" not in first and ("More than 3" in first or name == "customer_list"), q
            assert 'aria-label="Totals of the filtered' not in first and 'data-testid="payment-totals"' not in first
            assert 'page=2"' in first and f'page={n_pages + 1}"' not in last


def test_the_totals_are_exact_up_to_the_cap(busy, monkeypatch):
    from django.urls import reverse

    client = busy.client("viewer")
    url = reverse("invoice_list", kwargs={"org_slug": busy.org.slug})
    monkeypatch.setattr("ledger_site.listing.CAP", 9)
    page = client.get(url + "?status=open").content.decode()  # 9 open invoices: exactly the cap
    assert "9 invoices" in page and "More than" not in page
    monkeypatch.setattr("ledger_site.listing.CAP", 8)
    page = client.get(url + "?status=open").content.decode()
    assert "More than 8" in page and "9 invoices" not in page
    assert listing.more_than_cap(9) and not listing.more_than_cap(8)


@pytest.mark.parametrize("name", ["invoice_list", "payment_list"])
def test_above_the_cap_the_list_counts_ids_and_reads_no_sums(busy, monkeypatch, name):
    """Above the cap the totals are not shown, so they are not read: the page counts ids (at most
    CAP + 1) and runs no SUM at all; within the cap it sums once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = busy.client("viewer")
    url = reverse(name, kwargs={"org_slug": busy.org.slug})
    client.get(url)

    def sums(cap):
        monkeypatch.setattr("ledger_site.listing.CAP", cap)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content.decode()
        return page, [q["sql"] for q in queries if "SUM(" in q["sql"]]

    page, read = sums(3)
    assert "More than 3" in page and read == []
    page, read = sums(10_000)
    assert "More than" not in page and len(read) == 1 and "LIMIT 10001" in read[0]
