"""Collections beside invoicing by day, ISO week, month and quarter (issue 20): known answers across
an ISO year boundary, exports through ledger_site.exports, bad ranges, and a plain recomputation
over random histories."""

import contextlib
import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from reports.series import GRAINS, series
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h
from tests.reports.test_asof_property import _run, op

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def series_book():
    org, owner = make_org(name="Series Co", slug="series-co")
    with tenant_context(org):
        c = CustomerFactory(organization=org, currency="EUR")
        h.invoice(org, c, "100.00", date(2024, 12, 29))  # Sunday: ISO week 2024-W52
        h.invoice(org, c, "200.00", date(2024, 12, 30))  # Monday: ISO week 2025-W01
        h.pay(org, c, "50.00", date(2025, 1, 2))
        bounced = h.pay(org, c, "70.00", date(2025, 1, 3))
        h.reverse(bounced, date(2025, 1, 6))
        h.pay(org, c, "30.00", date(2025, 4, 1))
    return {"org": org, "owner": owner}


def test_known_answers(series_book):
    org = series_book["org"]
    with tenant_context(org):
        weeks = series(org, "EUR", "week", date(2024, 12, 28), date(2025, 1, 5))
        quarters = series(org, "EUR", "quarter", date(2024, 12, 1), date(2025, 4, 30))
        days = series(org, "EUR", "day", date(2025, 1, 1), date(2025, 1, 3))
    assert [(p.label, p.start, p.end, p.invoiced, p.collected) for p in weeks] == [
        ("2024-W52", date(2024, 12, 28), date(2024, 12, 29), D("100.00"), D(0)),
        ("2025-W01", date(2024, 12, 30), date(2025, 1, 5), D("200.00"), D("50.00"))]  # the bounced 70 is out
    assert [(p.label, p.invoiced, p.collected) for p in quarters] == [
        ("2024-Q4", D("300.00"), D(0)), ("2025-Q1", D(0), D("50.00")), ("2025-Q2", D(0), D("30.00"))]
    assert [p.label for p in days] == ["2025-01-01", "2025-01-02", "2025-01-03"]


def test_page_exports_and_bad_ranges(series_book):
    org, owner = series_book["org"], series_book["owner"]
    client = Client()
    client.force_login(owner)
    base = reverse("collections_series", kwargs={"org_slug": org.slug})
    q = {"grain": "month", "start": "2024-12-01", "end": "2025-04-30"}
    text = client.get(base, q).content.decode()
    assert 'data-figure="collected">80.00' in text and 'data-figure="invoiced">300.00' in text
    rows = list(csv.reader(io.StringIO(client.get(base, {**q, "format": "csv"}).content.decode())))
    assert rows[0][:5] == ["month", "from", "to", "invoiced", "collected"] and len(rows) == 6
    book_x = load_workbook(io.BytesIO(client.get(base, {**q, "format": "xlsx"}).content))
    assert [r[4] for r in book_x.active.iter_rows(min_row=2, values_only=True)] == [0, 50, 0, 0, 30]
    for bad, why in (({"grain": "day", "start": "2020-01-01", "end": "2025-01-01"}, "too many points"),
                     ({"grain": "month", "start": "2025-02-01", "end": "2025-01-01"}, "after the end date")):
        assert why in client.get(base, bad).content.decode()


@settings(deadline=None, max_examples=6, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=st.lists(op, min_size=4, max_size=18), grain=st.sampled_from(GRAINS),
       bounds=st.tuples(st.integers(0, 80), st.integers(0, 80)))
def test_series_equals_a_plain_recomputation(history, grain, bounds):
    org, _ = make_org()
    with tenant_context(org):
        customers = [CustomerFactory(organization=org, currency="EUR") for _i in range(2)]
        for step in history:
            with contextlib.suppress(ValidationError):
                _run(org, customers, *step)
        first, last = sorted(h.ago(b) for b in bounds)
        points = series(org, "EUR", grain, first, last)
        invoices = list(Invoice.objects.filter(organization=org, currency="EUR", void_entry=None)
                        .exclude(status="draft"))
        payments = list(Payment.objects.filter(organization=org, currency="EUR", reversal_entry=None))
    assert points[0].start == first and points[-1].end == last
    assert all(b.start == a.end + timedelta(days=1) for a, b in zip(points, points[1:], strict=False))
    for p in points:
        assert p.invoiced == sum((i.total for i in invoices if p.start <= i.issue_date <= p.end), D(0))
        assert p.collected == sum((x.amount for x in payments if p.start <= x.received_date <= p.end), D(0))
