"""Query-count pins on the busiest pages: the aging report, the dashboard, a customer's page, the
invoice, payment and reminder lists, credit control, open items, insights and the forecast.
Each page makes the same number of queries for a small and a
three times larger organization (no query per row), and no more than its pin: a change that adds
queries must raise the pin here, on purpose."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.reports.helpers import ago, pay

pytestmark = pytest.mark.django_db

# Page → the most queries it may make (session, membership and navigation included). The customer
# page has 38 since its "Changes" panel (the audit log, accounts.views.audit) reads one more, 40 since
# reminders' panel shows what the customer did on their link (issue 19: actions, balance assertion), 42
# since it shows the payment plans (one query) and the latest activity (one UNION query, issue 19 #6, #7).
# Issue 21: the invoice and payment lists read the person's saved filters (one query each: 14 -> 15, 15 -> 16).
# Issue 20: the dashboard's in-dispute figure (29 -> 30), open items' disputes and promises of the day (24 -> 26).
# Issue 21 at 1M: the invoice and payment lists count (ids only, up to the cap) before they sum, and
# sum only within the cap: one query more each under the cap (15 -> 16, 16 -> 17), none read above it.
PINS = {"dashboard": 30, "aging_report": 19, "customer_detail": 42, "invoice_list": 16, "reminder_list": 18,
        # issue 23: every paginated page of the whole organization (the invoice and payment lists
        # take their count from the totals' aggregate: one query fewer each)
        "payment_list": 17, "credit_control": 19, "open_items_report": 26, "insights_report": 22,
        "forecast_report": 16}
# Issue 23 item 2: today's aging (and the open items page built on it) reads the per-customer summary in
# one statement where it created, indexed, read and dropped a temporary table (aging 23 -> 19, open items
# 28 -> 24).
# Issue 20 (as of a past day): the dashboard reads what is in dispute (29 -> 30); the open items page reads
# the dispute hold and the promises of its invoices as they stood on the day (24 -> 26).


def _org_with(customers: int):
    org, owner = make_org()
    with tenant_context(org):
        people = [CustomerFactory(organization=org) for _ in range(customers)]
        for n, customer in enumerate(people):
            for days in (40, 20, 5):
                issued(org, customer, lines=(("Work", "1", f"{100 + n}.00", None),),
                       issue_date=ago(days), due_date=ago(days) + timedelta(days=14))
            pay(org, customer, "50.00", ago(3), allocation="auto")
    client = Client()
    client.force_login(owner)
    return org, people[0], client


def _queries(client, url) -> int:
    client.get(url)  # warm caches (templates, content types) out of the count
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _urls(org, customer) -> dict:
    return {name: reverse(name, kwargs={"org_slug": org.slug, **({"pk": customer.pk} if name == "customer_detail"
                                                                  else {})})
            for name in PINS}


def test_the_busiest_pages_make_a_fixed_number_of_queries_whatever_the_size():
    small_org, small_customer, small_client = _org_with(2)
    large_org, large_customer, large_client = _org_with(6)
    small = {name: _queries(small_client, url) for name, url in _urls(small_org, small_customer).items()}
    large = {name: _queries(large_client, url) for name, url in _urls(large_org, large_customer).items()}
    assert large == small, "a query per row crept in"
    over = {name: (count, PINS[name]) for name, count in small.items() if count > PINS[name]}
    assert over == {}, f"more queries than pinned: {small}"


# Issue 23 item 2: the aging page through its pages (2 customers a page), sorts and dates: today's pages
# by name read the maintained per-customer summary in one statement; numeric sorts and filters sum the
# summary of every customer into a temporary table; a past day reads every open item (the as-of path).
# Since the per-customer totals (issue 23), today's page by total reads their index in one statement (19);
# a past day first looks for a period-end snapshot (one query more, 24) and, with none, takes the as-of path.
PAGED_AGING_PINS = {"?page=2": 19, "?sort=-name&page=2": 19, "?sort=-total&page=2": 19, "?overdue=1&page=2": 23,
                    "?as_of={past}&page=2": 25, "?sort=code&as_of={past}&page=2": 25}
# Issue 20 (bad input): a past day reads when the books start, to say so when the day is before it (24 -> 25).


def test_the_paged_aging_page_makes_a_fixed_number_of_queries_whatever_the_size(monkeypatch):
    from reports.views import reports as views

    monkeypatch.setattr(views._aging_query, "__defaults__", (2,))  # pages of 2 customers
    past = ago(10).isoformat()
    counts = {}
    for customers in (4, 12):
        org, customer, client = _org_with(customers)
        base = reverse("aging_report", kwargs={"org_slug": org.slug})
        counts[customers] = {suffix: _queries(client, base + suffix.format(past=past)) for suffix in PAGED_AGING_PINS}
        page = client.get(base + "?page=2")
        assert page.context["report"].page == 2 and len(page.context["report"].rows) == 2
    assert counts[4] == counts[12], "a query per row crept in"
    over = {k: (n, PAGED_AGING_PINS[k]) for k, n in counts[4].items() if n > PAGED_AGING_PINS[k]}
    assert over == {}, f"more queries than pinned: {counts[4]}"
