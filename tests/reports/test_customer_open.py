"""Issue 23 item 2: the per-customer open summary (reports_customeropen) and today's aging from it.

* after random histories (issues, payments, later applications, un-applications, reversals,
  refunds, credit notes, write-offs, voids, documents dated back and a few days ahead) the
  maintained rows equal a recomputation from the invoices, and no zero row is left behind;
* the aging from the summary equals the as-of computation over every open item, row by row and
  in its totals, for random as-of days (past, today, ahead), both bases, sorts, pages and filters;
* today's page reads the summary (a tampered summary row shows on today's page, not on a past one),
  past days keep the as-of path (in the base currency too; today in base reads the summary, issue 17).
"""

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from reports.aging import aging, default_source, query_for
from reports.models import AgingBasis
from reports.summaries import (
    derived_customer_open,
    derived_customer_total,
    rebuild,
    stored_customer_open,
    stored_customer_total,
)
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import flat_rates
from tests.reports import helpers as h
from tests.reports.test_asof_property import OPS, _run

pytestmark = pytest.mark.django_db

# Offsets down to -3: documents dated up to three days ahead (payments may be, PAYMENT_FUTURE_DAYS).
op = st.tuples(st.sampled_from(OPS), st.integers(-3, 60), st.integers(1, 40), st.integers(0, 11))


def _shape(report):
    totals = [(t.buckets, t.unapplied, t.total, t.overdue, t.customers) for t in (report.everything, report.filtered)]
    rows = [(r.customer_id, r.name, r.code, r.buckets, r.unapplied, r.total, r.overdue, r.open_count)
            for r in report.rows]
    return totals, report.row_count, report.control, report.pages, rows


def _queries(search):
    return [{"page_size": None}, {"page_size": 2}, {"page_size": 2, "page": 2}, {"page_size": 2, "sort": "-name"},
            {"page_size": 2, "sort": "code", "page": 2}, {"page_size": 3, "sort": "-total"},
            {"page_size": 3, "sort": "b1"}, {"page_size": 3, "sort": "-unapplied"},
            {"page_size": 1, "sort": "total", "page": 2}, {"page_size": 1, "sort": "-total", "page": 3},
            {"page_size": None, "only_overdue": True}, {"page_size": None, "min_amount": Decimal("100")},
            {"page_size": 2, "search": search}]


def _history(org, history):
    customers = [CustomerFactory(organization=org, currency="EUR"),
                 CustomerFactory(organization=org, currency="EUR"),
                 CustomerFactory(organization=org, currency="USD")]
    for c in customers:
        h.invoice(org, c, "99.99", h.ago(75), h.ago(60))
    for step in history:
        with contextlib.suppress(ValidationError):  # refused actions change nothing (LedgerError included)
            _run(org, customers, *step)
    return customers


@settings(deadline=None, max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(history=st.lists(op, min_size=4, max_size=22), offsets=st.lists(st.integers(-5, 80), max_size=1),
       rotate=st.integers(0, 10))
def test_summary_equals_recomputation_and_aging_from_it_equals_the_item_path(history, offsets, rotate):
    org, _ = make_org()
    with tenant_context(org):
        flat_rates(org, {"USD": "0.9"})  # its USD customer's postings need rates (issue 17)
        customers = _history(org, history)
        stored = stored_customer_open(org)
        assert stored == derived_customer_open(org)
        assert all(count > 0 and amount > 0 for amount, count in stored.values())
        totals = stored_customer_total(org)
        assert totals == derived_customer_total(org)
        assert all(count > 0 and amount > 0 for amount, count in totals.values())
        days = sorted({h.today(), h.ago(-2)} | {h.ago(o) for o in offsets})
        queries = _queries(customers[1].name[:4])
        # Every report call holds its temporary tables' locks to the end of the test's transaction
        # (PostgreSQL's shared lock table is finite): three queries per day and currency, rotating
        # through all of them across examples, the basis alternating.
        n = 0
        for day in days:
            for currency in ("EUR", "USD"):
                for _ in range(3):
                    n += 1
                    extra = queries[(rotate + n) % len(queries)]
                    basis = (AgingBasis.DUE, AgingBasis.ISSUE)[(rotate + n // 2) % 2]
                    fast = _shape(aging(org, query_for(org, day, currency, basis=basis, **extra), source="summary"))
                    slow = _shape(aging(org, query_for(org, day, currency, basis=basis, **extra), source="items"))
                    assert fast == slow, (day, currency, basis, extra)
        # The rebuild from scratch gives what the triggers kept.
        rebuild(org)
        assert stored_customer_open(org) == stored
        assert stored_customer_total(org) == totals


def test_rows_follow_issue_payment_and_void_and_leave_no_zero_row():
    org, _ = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org, currency="EUR")
        first = h.invoice(org, customer, "100.00", h.ago(20), h.ago(5))
        second = h.invoice(org, customer, "50.00", h.ago(20), h.ago(5))
        third = h.invoice(org, customer, "70.00", h.ago(10), h.ago(1))
        key_a = (customer.pk, "EUR", h.ago(5), h.ago(20))
        key_b = (customer.pk, "EUR", h.ago(1), h.ago(10))
        assert stored_customer_open(org) == {key_a: (Decimal("150.000"), 2), key_b: (Decimal("70.000"), 1)}
        h.pay(org, customer, "30.00", h.ago(2), {first: "30.00"})
        assert stored_customer_open(org)[key_a] == (Decimal("120.000"), 2)
        h.pay(org, customer, "50.00", h.ago(2), {second: "50.00"})
        assert stored_customer_open(org)[key_a] == (Decimal("70.000"), 1)
        h.void(third, h.ago(1))
        assert stored_customer_open(org) == {key_a: (Decimal("70.000"), 1)}  # the voided date's row is gone
        h.write_off(Invoice.objects.get(pk=first.pk), Decimal("70.00"), h.today())
        assert stored_customer_open(org) == {} == derived_customer_open(org)


def test_todays_page_reads_the_summary_and_past_days_the_items():
    org, _ = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org, currency="EUR")
        h.invoice(org, customer, "100.00", h.ago(20), h.ago(5))
        today, past = query_for(org, h.today(), "EUR"), query_for(org, h.ago(1), "EUR")
        assert default_source(org, today) == "summary" and default_source(org, past) == "items"
        # Issue 17 (a deliberate change): today in the base currency reads the summaries too; past days do not.
        assert default_source(org, query_for(org, h.today(), "EUR", in_base=True)) == "summary"
        assert default_source(org, query_for(org, h.ago(1), "EUR", in_base=True)) == "items"
        assert aging(org, today).everything.total == aging(org, past).everything.total == Decimal("100")
        # Tamper with the summary (the triggers would never leave it so): today's page shows it.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE reports_customeropen SET amount = amount + 1 WHERE customer_id = %s", [customer.pk])
        tampered = aging(org, query_for(org, h.today(), "EUR"))
        assert tampered.rows[0].total == Decimal("101")
        # (the totals by due date come from the organization's per-due-date rows, untouched)
        assert tampered.everything.total == Decimal("100")
        assert aging(org, query_for(org, h.ago(1), "EUR")).everything.total == Decimal("100")
        assert aging(org, query_for(org, h.today(), "EUR"), source="items").rows[0].total == Decimal("100")


def test_post_dated_items_are_corrected_exactly_today():
    """An invoice dated tomorrow is in the summary (it is open) but not in today's aging; a payment
    applied with tomorrow's date has reduced the amount due already but not as of today."""
    org, _ = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org, currency="EUR")
        h.invoice(org, customer, "40.00", h.ago(-1), h.ago(-1) + timedelta(days=30))
        paid = h.invoice(org, customer, "100.00", h.ago(40), h.ago(10))
        h.pay(org, customer, "100.00", h.ago(-1), {paid: "100.00"})
        report = aging(org, query_for(org, h.today(), "EUR"))
        assert [(r.buckets, r.unapplied, r.open_count) for r in report.rows] == [
            ([0, Decimal("100"), 0, 0, 0], 0, 1)]
        assert report.reconciles
        ahead = aging(org, query_for(org, h.ago(-1), "EUR"))
        assert ahead.rows[0].buckets[0] == Decimal("40") and ahead.rows[0].open_count == 1
        assert _shape(ahead) == _shape(aging(org, query_for(org, h.ago(-1), "EUR"), source="items"))


def test_customer_totals_follow_issue_payment_void_and_write_off():
    org, _ = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org, currency="EUR")
        first = h.invoice(org, customer, "100.00", h.ago(20), h.ago(5))
        h.invoice(org, customer, "50.00", h.ago(20), h.ago(5))
        third = h.invoice(org, customer, "70.00", h.ago(10), h.ago(1))
        assert stored_customer_total(org) == {(customer.pk, "EUR"): (Decimal("220.000"), 3)}
        h.pay(org, customer, "80.00", h.ago(2), {first: "30.00", third: "50.00"})
        assert stored_customer_total(org) == {(customer.pk, "EUR"): (Decimal("140.000"), 3)}
        h.void(h.invoice(org, customer, "5.00", h.ago(3), h.ago(1)), h.ago(1))
        assert stored_customer_total(org) == {(customer.pk, "EUR"): (Decimal("140.000"), 3)}
        h.write_off(Invoice.objects.get(pk=first.pk), Decimal("70.00"), h.today())
        assert stored_customer_total(org) == {(customer.pk, "EUR"): (Decimal("70.000"), 2)}
        assert stored_customer_total(org) == derived_customer_total(org)


def test_page_by_total_takes_customers_whose_amount_today_differs_from_the_summary_into_account():
    """A customer whose maintained total is the largest but who owes little as of today (an invoice dated
    tomorrow): the page by total must reach past it in the maintained order to the next customer."""
    org, _ = make_org()
    with tenant_context(org):
        ahead, middle, small = (CustomerFactory(organization=org, currency="EUR") for _ in range(3))
        h.invoice(org, ahead, "1000.00", h.ago(-1), h.ago(-30))
        h.invoice(org, ahead, "5.00", h.ago(10), h.ago(1))
        h.invoice(org, middle, "50.00", h.ago(10), h.ago(1))
        h.invoice(org, small, "30.00", h.ago(10), h.ago(1))
        for sort, page, expected in (("-total", 1, middle), ("-total", 2, small), ("-total", 3, ahead),
                                     ("total", 1, ahead), ("total", 3, middle)):
            q = query_for(org, h.today(), "EUR", sort=sort, page=page, page_size=1)
            fast, slow = aging(org, q, source="summary"), aging(org, q, source="items")
            assert [r.customer_id for r in fast.rows] == [expected.pk], (sort, page)
            assert _shape(fast) == _shape(slow)


def test_todays_page_by_total_reads_the_maintained_totals():
    org, _ = make_org()
    with tenant_context(org):
        first, second = (CustomerFactory(organization=org, currency="EUR") for _ in range(2))
        h.invoice(org, first, "100.00", h.ago(20), h.ago(5))
        h.invoice(org, second, "60.00", h.ago(20), h.ago(5))
        q = query_for(org, h.today(), "EUR", sort="-total", page_size=1)
        assert aging(org, q).rows[0].customer_id == first.pk
        # Tamper with the maintained total (the triggers would never leave it so): the walk follows it.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE reports_customertotal SET amount = 1 WHERE customer_id = %s", [first.pk])
        assert aging(org, q).rows[0].customer_id == second.pk
        assert aging(org, q, source="items").rows[0].customer_id == first.pk
