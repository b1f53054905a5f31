"""Payment behaviour over a window (issue 20): a hand-made book with known answers, the page and its
CSV, bad windows, and a property against a plain recomputation from the document rows."""

import contextlib
import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from invoicing.models import Invoice
from invoicing.services import record_event
from ledger_site.tenancy import tenant_context
from payments.models import Allocation
from reports import behaviour as bh
from reports.dso import Unavailable
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h
from tests.reports.test_asof_property import _run, op

pytestmark = pytest.mark.django_db
D = Decimal


def disputed_on(invoice, day: date):
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    record_event(invoice, "disputed", "Disputed: wrong quantity", at=noon)


@pytest.fixture
def behaviour_book():
    org, owner = make_org(name="Pay Co", slug="pay-co")
    with tenant_context(org):
        a = CustomerFactory(organization=org, name="Alpha", code="A", currency="EUR")
        b = CustomerFactory(organization=org, name="Beta", code="B", currency="EUR")
        i1 = h.invoice(org, a, "1000.00", date(2025, 1, 1), date(2025, 1, 31))
        h.pay(org, a, "1000.00", date(2025, 1, 21), {i1: "1000.00"})  # 20 days, early
        i2 = h.invoice(org, a, "3000.00", date(2025, 2, 1), date(2025, 3, 3))
        h.pay(org, a, "1000.00", date(2025, 3, 1), {i2: "1000.00"})
        h.pay(org, a, "2000.00", date(2025, 4, 2), {i2: "2000.00"})  # paid on 2 Apr: 60 days, 30 late
        i3 = h.invoice(org, b, "2000.00", date(2025, 3, 1), date(2025, 3, 31))
        disputed_on(i3, date(2025, 3, 10))
        h.pay(org, b, "2000.00", date(2025, 4, 10), {i3: "2000.00"})  # 40 days, 10 late, disputed
        h.invoice(org, b, "500.00", date(2025, 4, 1), date(2025, 5, 1))  # unpaid: not counted
    return {"org": org, "owner": owner, "a": a, "b": b}


def test_known_answers(behaviour_book):
    org = behaviour_book["org"]
    with tenant_context(org):
        r = bh.behaviour(org, "EUR", date(2025, 1, 1), date(2025, 12, 31))
    s = r.total.all
    assert (s.count, s.amount, s.days_sum, s.late_count, s.late_days_sum, s.on_time_count) == (3, D("6000.00"), 120,
                                                                                                 2, 40, 1)
    assert (s.days_to_pay, s.weighted_days, s.days_late, s.days_late_of_late, s.worst_delay, s.on_time_percent) == (
        D("40.0"), D("46.7"), D("13.3"), D("20.0"), 30, D("33.3"))
    u, d = r.total.undisputed, r.total.disputed
    assert (u.count, u.days_to_pay, u.weighted_days, u.days_late, u.days_late_of_late, u.on_time_percent) == (
        2, D("40.0"), D("50.0"), D("15.0"), D("30.0"), D("50.0"))
    assert (d.count, d.days_to_pay, d.days_late_of_late, d.worst_delay, d.on_time_percent) == (1, D("40.0"),
                                                                                                 D("10.0"), 10, D(0))
    assert [(row.name, row.all.count) for row in r.rows] == [("Alpha", 2), ("Beta", 1)]
    with tenant_context(org):
        second = bh.behaviour_page(org, "EUR", date(2025, 1, 1), date(2025, 12, 31), 2, 1)
    assert ([(row.name, row.all.count, row.disputed.count) for row in second.rows], second.customers) == (
        [("Beta", 1, 1)], 2)
    assert second.total == r.total
    # A window ending before April holds only the January invoice (paid early: worst delay 0, 100 % on time).
    with tenant_context(org):
        q1 = bh.behaviour(org, "EUR", date(2025, 1, 1), date(2025, 3, 31)).total.all
    assert (q1.count, q1.worst_delay, q1.on_time_percent, q1.days_late_of_late) == (1, 0, D("100.0"), None)


def test_products_too_large_for_a_bigint_are_summed_exactly():
    """FIGURES sums total × days to pay in integer thousandths, except for invoices of 10⁹ or more: the largest
    amount the ledger takes (999,999,999,999.999) paid 10,000 days after its date would overflow a bigint
    (about 10¹⁹ thousandth-days). Both parts add up exactly; run on the fragment itself, since no book opened
    ten years ago at most holds such an invoice yet."""
    big = D("999999999999.999")
    rows = [(big, date(2000, 1, 1), date(2027, 5, 19)), (D("10.005"), date(2025, 1, 1), date(2025, 1, 31))]
    values = ", ".join(["(%s::numeric(18,3), %s::date, %s::date, %s::date)"] * len(rows))
    params = [x for total, issued, paid in rows for x in (total, issued, issued, paid)]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH paid(total, issue_date, due_date, paid_on) AS (VALUES {values}) "  # noqa: S608
                       f"SELECT {bh.FIGURES} FROM paid", params)
        n, amount, days, weighted, *_rest = cursor.fetchone()
    assert (n, amount, days) == (2, big + D("10.005"), 10_000 + 30)
    assert weighted == big * 10_000 + D("10.005") * 30


def test_windows_and_bad_input(behaviour_book):
    org = behaviour_book["org"]
    with tenant_context(org):
        today = h.today()
        assert bh.window(org, "12m") == (today - timedelta(days=364), today)
        assert bh.window(org, "all") == (date(2025, 1, 1), today)
        assert bh.window(org, "range", date(2025, 2, 1), date(2099, 1, 1)) == (date(2025, 2, 1), today)
        for args, why in (((date(2025, 3, 1), date(2025, 2, 1)), "starts after"), ((None, None), "both"),
                          ((today + timedelta(days=2), today + timedelta(days=9)), "future")):
            with pytest.raises(Unavailable, match=why):
                bh.window(org, "range", *args)


def test_page_and_csv(behaviour_book):
    org, owner = behaviour_book["org"], behaviour_book["owner"]
    client = Client()
    client.force_login(owner)
    base = reverse("payment_behaviour", kwargs={"org_slug": org.slug})
    text = client.get(base, {"window": "all"}).content.decode()
    assert "Alpha" in text and "46.7" in text and "33.3%" in text and "data-problem" not in text
    empty = client.get(base).content.decode()  # last 12 months: nothing paid since December 2025
    assert "No invoice was paid in this window" in empty and "—" in empty
    bad = client.get(base, {"window": "range", "start": "2025-05-01", "end": "2025-04-01"}).content.decode()
    assert "The range starts after it ends" in bad
    response = client.get(base, {"window": "range", "start": "2025-01-01", "end": "2025-12-31", "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    overall = {r[1]: r for r in rows if r[0] == "ALL"}
    assert overall["all"][2:7] == ["3", "6000.00", "120", "40.0", "46.7"]
    assert overall["disputed"][2] == "1" and overall["undisputed"][2] == "2"


def _tenth(x):
    return x.quantize(D("0.1"), ROUND_HALF_UP)


@settings(deadline=None, max_examples=8, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=st.lists(op, min_size=6, max_size=22), disputes=st.lists(st.tuples(st.integers(0, 30),
                                                                                 st.integers(0, 60)), max_size=4),
       bounds=st.tuples(st.integers(0, 80), st.integers(0, 80)))
def test_behaviour_equals_a_plain_recomputation(history, disputes, bounds):
    org, _ = make_org()
    with tenant_context(org):
        customers = [CustomerFactory(organization=org, currency="EUR") for _i in range(2)]
        for c in customers:
            h.invoice(org, c, "99.99", h.ago(75), h.ago(60))
        for step in history:
            with contextlib.suppress(ValidationError):
                _run(org, customers, *step)
        invoices = list(Invoice.objects.filter(organization=org, currency="EUR").order_by("pk"))
        for pick, back in disputes:
            disputed_on(invoices[pick % len(invoices)], h.ago(back))
        start, end = sorted(h.ago(b) for b in bounds)
        report = bh.behaviour(org, "EUR", start, end)
        # Plain: paid in full by payments, nothing written off; paid day = the last allocation row's day.
        last_move = defaultdict(lambda: date.min)
        paid_by_payment = set()
        for a in Allocation.objects.filter(organization=org):
            last_move[a.invoice_id] = max(last_move[a.invoice_id], a.effective_date)
            if a.payment_id:
                paid_by_payment.add(a.invoice_id)
        events = defaultdict(list)
        for inv in invoices:
            events[inv.pk] = [e.at.astimezone(ZoneInfo(org.timezone)).date()
                              for e in inv.events.filter(kind="disputed")]
        groups = defaultdict(list)
        for inv in invoices:
            if not (inv.status == "issued" and inv.amount_due == 0 and inv.amount_paid > 0
                    and inv.amount_written_off == 0 and inv.pk in paid_by_payment):
                continue
            paid_on = max(inv.issue_date, last_move[inv.pk])
            if not start <= paid_on <= end:
                continue
            disputed = any(day <= paid_on for day in events[inv.pk])
            for key in ("all", "disputed" if disputed else "undisputed"):
                groups[key].append((inv.total, (paid_on - inv.issue_date).days, (paid_on - inv.due_date).days))
        for key in ("all", "disputed", "undisputed"):
            rows, s = groups[key], getattr(report.total, key)
            n, amount = len(rows), sum((t for t, _d, _l in rows), D(0))
            late = [lt for _t, _d, lt in rows if lt > 0]
            assert (s.count, s.amount, s.days_sum, s.late_count, s.late_days_sum) == (
                n, amount, sum(d for _t, d, _l in rows), len(late), sum(late)), key
            assert s.days_to_pay == (_tenth(D(s.days_sum) / n) if n else None)
            assert s.weighted_days == (_tenth(sum(t * d for t, d, _l in rows) / amount) if amount else None)
            assert s.days_late_of_late == (_tenth(D(sum(late)) / len(late)) if late else None)
            assert s.worst_delay == (max(0, *[lt for _t, _d, lt in rows]) if rows else None)
            assert s.on_time_count == sum(1 for *_x, lt in rows if lt <= 0)
        assert sum(r.all.count for r in report.rows) == report.total.all.count
        # The page's query (customers ordered and cut in SQL) gives the same figures and the same slice.
        for per_page in (1, 2):
            for page in range(1, len(report.rows) // per_page + 2):
                part = bh.behaviour_page(org, "EUR", start, end, page, per_page)
                assert (part.total, part.customers) == (report.total, len(report.rows))
                assert part.rows == report.rows[(page - 1) * per_page: page * per_page], (per_page, page)
