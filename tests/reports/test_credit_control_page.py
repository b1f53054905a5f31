"""Credit control as a page of customers (issue 23): sorted, searched, paginated, the organization's
totals on top from the same statement, everything in a streamed CSV, and a fixed number of queries
whatever the organization's size."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.credit_terms import set_overdue_days
from ledger_site.tenancy import tenant_context
from reports import credit_control as cc
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db
D = Decimal


def _book(late_customers: int, over_customers: int = 1):
    """`late_customers` each with one invoice 60 days late (amount 100 + n), `over_customers` over
    a 1,000 limit by 10 * (n + 1), one customer that is fine."""
    org, owner = make_org()
    with tenant_context(org):
        set_overdue_days(org, 30, actor=owner)
        for n in range(late_customers):
            c = CustomerFactory(organization=org, name=f"Late {n:02d}", code=f"L{n:02d}")
            h.invoice(org, c, f"{100 + n}.00", h.ago(90), h.ago(60))
        for n in range(over_customers):
            c = CustomerFactory(organization=org, name=f"Over {n:02d}", code=f"O{n:02d}", credit_limit=D("1000.00"))
            h.invoice(org, c, f"{1000 + 10 * (n + 1)}.00", h.ago(2), h.ago(-28))
        fine = CustomerFactory(organization=org, name="Fine", code="FINE")
        h.invoice(org, fine, "50.00", h.ago(2), h.ago(-28))
    client = Client()
    client.force_login(owner)
    return org, owner, client


def test_a_page_with_the_totals_of_all_flagged_customers():
    org, _owner, _client = _book(late_customers=7, over_customers=2)
    with tenant_context(org):
        first = cc.control_page(org, page=1, page_size=4)
        last = cc.control_page(org, page=3, page_size=4)
        past = cc.control_page(org, page=9, page_size=4)
        everything = cc.control_list(org)
    assert len(everything) == 9 and [r.code for r in first.rows] == ["O01", "O00", "L06", "L05"]
    assert [r.code for r in last.rows] == ["L00"] and past.rows == []
    expected = cc.ControlTotals(9, sum((r.balance for r in everything), D(0)), D("30.00"),
                                sum((D(100 + n) for n in range(7)), D(0)))
    assert first.totals == last.totals == past.totals == expected
    assert first.pages == 3
    # Pages never overlap and together are the list.
    with tenant_context(org):
        pages = [cc.control_page(org, page=p, page_size=4).rows for p in (1, 2, 3)]
    assert [r.customer_id for page in pages for r in page] == [r.customer_id for r in everything]


@pytest.mark.parametrize("sort", sorted(cc.SORTS) + ["-" + key for key in sorted(cc.SORTS)])
def test_every_sort_is_a_stable_total_order(sort):
    org, _owner, _client = _book(late_customers=5, over_customers=2)
    with tenant_context(org):
        pages = [cc.control_page(org, sort=sort, page=p, page_size=3) for p in (1, 2, 3)]
    ids = [r.customer_id for p in pages for r in p.rows]
    assert len(ids) == len(set(ids)) == 7 and all(p.sort == sort for p in pages)


def test_search_and_sort_on_the_page_and_a_bad_sort_falls_back():
    org, _owner, client = _book(late_customers=3, over_customers=1)
    base = reverse("credit_control", kwargs={"org_slug": org.slug})
    html = client.get(base + "?q=late%2001").content.decode()
    assert "Late 01" in html and "Late 02" not in html and "Over 00" not in html
    assert "1 customer flagged" in html
    html = client.get(base + "?sort=name").content.decode()
    assert html.index("Late 00") < html.index("Late 02") < html.index("Over 00")
    html = client.get(base + "?sort=drop table").content.decode()  # unknown: the default order
    assert html.index("Over 00") < html.index("Late 02") < html.index("Late 00")
    assert "4 customers flagged" in html
    html = client.get(base + "?q=%25").content.decode()  # a LIKE wildcard is searched for literally
    assert "No flagged customer matches the search." in html


def test_the_export_streams_every_flagged_customer_in_the_page_order():
    org, _owner, client = _book(late_customers=60, over_customers=1)
    page = client.get(reverse("credit_control", kwargs={"org_slug": org.slug})).content.decode()
    assert page.count('class="neg"') == cc.PAGE_SIZE - 1 and "Page 1 of 2" in page
    response = client.get(reverse("credit_control_export", kwargs={"org_slug": org.slug}) + "?sort=code")
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:2] == ["code", "customer"] and len(rows) == 62
    assert [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:])
    assert rows[1][:3] == ["L00", "Late 00", "EUR"] and D(rows[1][6]) == D("100.00")


def _count(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_makes_a_fixed_number_of_queries_whatever_the_size():
    small_org, _o, small = _book(late_customers=2)
    large_org, _o, large = _book(late_customers=12)
    counts = [_count(client, reverse("credit_control", kwargs={"org_slug": org.slug}))
              for org, client in ((small_org, small), (large_org, large))]
    assert counts[0] == counts[1] <= 20, counts
