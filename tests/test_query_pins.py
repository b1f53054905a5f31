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
PINS = {"dashboard": 29, "aging_report": 23, "customer_detail": 42, "invoice_list": 14, "reminder_list": 18,
        # issue 23: every paginated page of the whole organization (the invoice and payment lists
        # take their count from the totals' aggregate: one query fewer each)
        "payment_list": 15, "credit_control": 19, "open_items_report": 28, "insights_report": 22,
        "forecast_report": 16}


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
