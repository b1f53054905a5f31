"""Issue 20 item 7: past forecasts against what came in (reports.forecast_accuracy), on a hand-made
book whose every week is worked out below."""

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger_site.tenancy import tenant_context
from reports.forecast_accuracy import accuracy
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def accuracy_book():
    """T = today. inv0: 100, issued T-60, due T-50, paid T-40 (10 days late: the customer's lateness
    from then on). inv1: 200, issued T-30, due T-17 (expected T-7), paid T-3. inv2: 50, issued T-20, due
    T-12 (expected T-2), unpaid. The books start at T-60, so 8 weeks can be compared:
    week 1 (made T-8, T-7..T-1): forecast 250 (inv1, inv2), came in 200: error -50;
    week 6 (made T-43, T-42..T-36): inv0 was expected at its due date T-50 (no history yet): forecast 0,
    came in 100 (paid T-40): error +100;
    week 8 (made T-57, T-56..T-50): forecast 100 (inv0 expected T-50), came in 0: error -100;
    every other week: nothing expected, nothing came in."""
    org, owner = make_org()
    with tenant_context(org):
        c = CustomerFactory(organization=org, currency="EUR")
        t = org.today()

        def day(n):
            return t - timedelta(days=n)

        inv0 = h.invoice(org, c, "100.00", day(60), day(50))
        h.pay(org, c, "100.00", day(40), {inv0: "100.00"})
        inv1 = h.invoice(org, c, "200.00", day(30), day(17))
        h.invoice(org, c, "50.00", day(20), day(12))
        h.pay(org, c, "200.00", day(3), {inv1: "200.00"})
    return org, owner, c


def test_weeks_known_answers(accuracy_book):
    org, _owner, c = accuracy_book
    with tenant_context(org):
        a = accuracy(org, "EUR", weeks=8)
    t = org.today()
    assert [w.start for w in a.weeks] == [t - timedelta(days=7 * k) for k in range(1, 9)]
    assert [(w.forecast["mean"], w.came_in) for w in a.weeks] == [
        (Decimal("250.000"), Decimal("200.000")), (0, 0), (0, 0), (0, 0), (0, 0),
        (0, Decimal("100.000")), (0, 0), (Decimal("100.000"), 0)]
    assert [w.forecast["median"] for w in a.weeks] == [w.forecast["mean"] for w in a.weeks]  # one paid invoice
    assert a.mae("mean") == Decimal("31.25")  # (50 + 100 + 100) / 8
    assert a.bias("mean") == Decimal("-6.25")  # (-50 + 100 - 100) / 8
    assert a.best == "mean" and a.improvement == 0
    row = a.customers[c.pk]
    assert row["came_in"] == Decimal("300.000") and row["forecast"]["mean"] == Decimal("350.000")
    assert row["abs_error"]["mean"] == Decimal("250.000")


def test_median_and_mean_differ_when_lateness_is_skewed():
    """Lateness 0, 0 and 30 days: mean 10, median 0. An invoice due at T-10 is expected at T (mean: in
    no past week) or at T-10 (median: in week 2, T-14..T-8); it was paid at T-9, so the median is right."""
    org, _owner = make_org()
    with tenant_context(org):
        c = CustomerFactory(organization=org, currency="EUR")
        t = org.today()
        for due, paid in ((100, 100), (95, 95), (90, 60)):
            inv = h.invoice(org, c, "10.00", t - timedelta(days=due + 10), t - timedelta(days=due))
            h.pay(org, c, "10.00", t - timedelta(days=paid), {inv: "10.00"})
        late = h.invoice(org, c, "70.00", t - timedelta(days=40), t - timedelta(days=10))
        h.pay(org, c, "70.00", t - timedelta(days=9), {late: "70.00"})
        a = accuracy(org, "EUR", weeks=2)
    week2 = a.weeks[1]
    assert (week2.forecast["mean"], week2.forecast["median"], week2.came_in) == (0, Decimal("70.000"),
                                                                                Decimal("70.000"))
    assert a.best == "median" and a.improvement == Decimal("100.0")


def test_page(accuracy_book, client):
    org, owner, c = accuracy_book
    client.force_login(owner)
    page = client.get(f"/o/{org.slug}/reports/forecast/accuracy/").content.decode()
    assert 'data-mae="31.25"' in page and 'data-best="mean"' in page and c.name in page
    assert "How accurate were past forecasts?" in client.get(f"/o/{org.slug}/reports/forecast/").content.decode()
    empty, empty_owner = make_org()
    client.force_login(empty_owner)
    page = client.get(f"/o/{empty.slug}/reports/forecast/accuracy/").content.decode()
    assert "data-problem" in page and "No past week to compare yet" in page


def _report_statements(ctx) -> list[str]:
    """The statements that read data (not the cursor's SET LOCALs or savepoints)."""
    return [q["sql"] for q in ctx.captured_queries
            if not q["sql"].lstrip().upper().startswith(("SET ", "SAVEPOINT", "RELEASE SAVEPOINT"))]


@pytest.mark.parametrize("weeks", [1, 8, 12])
def test_one_query_whatever_the_weeks(accuracy_book, weeks):
    """Issue 20 follow-up: the page ran 2 queries per week (24 for 12 weeks); now every week and both
    methods are one statement, and the figures are those of the known answers above."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    org, _owner, _c = accuracy_book
    with tenant_context(org), CaptureQueriesContext(connection) as ctx:
        a = accuracy(org, "EUR", weeks=weeks)
    assert len(_report_statements(ctx)) == 1, _report_statements(ctx)
    assert len(a.weeks) == weeks
    assert a.weeks[0].forecast == {"mean": Decimal("250.000"), "median": Decimal("250.000")}
    assert a.weeks[0].came_in == Decimal("200.000")
