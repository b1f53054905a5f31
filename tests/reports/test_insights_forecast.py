"""Payment behaviour and the cash-in forecast against small hand-computed examples."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ledger_site.tenancy import tenant_context
from reports.forecast import forecast, week_invoices
from reports.insights import behaviour_report, customer_behaviour, org_average_days_late
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def insights_book():
    org, owner = make_org(name="Insight Co", slug="insight-co")
    with tenant_context(org):
        a = CustomerFactory(organization=org, name="Late Larry", code="LARRY")
        b = CustomerFactory(organization=org, name="New Nora", code="NORA")
        i1 = h.invoice(org, a, "100.00", h.ago(100), h.ago(70))
        h.pay(org, a, "100.00", h.ago(60), {i1: "100.00"})  # 40 days to pay, 10 late
        i2 = h.invoice(org, a, "100.00", h.ago(80), h.ago(50))
        h.pay(org, a, "100.00", h.ago(55), {i2: "100.00"})  # 25 days, paid 5 days early: 0 late
        i3 = h.invoice(org, a, "100.00", h.ago(50), h.ago(20))
        h.pay(org, a, "10.00", h.ago(30), {i3: "10.00"})
        h.pay(org, a, "90.00", h.ago(5), {i3: "90.00"})  # paid in full 5 days ago: 45 days, 15 late
        h.invoice(org, a, "250.00", h.ago(40), h.ago(10))  # open, 10 days overdue
        old = h.invoice(org, a, "100.00", h.ago(500), h.ago(470))
        h.pay(org, a, "100.00", h.ago(400), {old: "100.00"})  # paid before the 12 months: not counted
        credited = h.invoice(org, a, "60.00", h.ago(30), h.ago(0))
        h.credit(credited, "60.00", h.ago(29))  # settled by a credit note, not a payment: not counted
        h.invoice(org, a, "40.00", h.ago(0), h.ago(-30))  # due in 30 days
        h.invoice(org, b, "70.00", h.ago(2), h.ago(-3))  # no history: the organization's lateness
    return {"org": org, "owner": owner, "a": a, "b": b}


def test_customer_behaviour(insights_book):
    with tenant_context(insights_book["org"]):
        b = customer_behaviour(insights_book["a"])
    assert b.paid == 3
    assert b.days_to_pay == D("36.7")  # (40 + 25 + 45) / 3
    assert b.days_late == D("8.3")  # (10 + 0 + 15) / 3
    assert b.on_time_percent == D("33")  # one of three by the due date
    assert (b.overdue, b.overdue_count, b.oldest_days) == (D("250.00"), 1, 10)
    assert b.trend is None  # all three paid within the last 3 months: nothing to compare with
    late_by_month = {}
    for paid_on, late in ((h.ago(60), 10), (h.ago(55), 0), (h.ago(5), 15)):
        late_by_month.setdefault(paid_on.replace(day=1), []).append(late)
    expected = {m: (D(sum(v)) / len(v)).quantize(D("0.1")) for m, v in late_by_month.items()}
    assert {m: v for m, v in b.months if v is not None} == expected
    assert len(b.months) == 12 and b.months[-1][0] == h.today().replace(day=1)


def test_behaviour_report_sorted_by_days_late(insights_book):
    with tenant_context(insights_book["org"]):
        rows, count = behaviour_report(insights_book["org"], sort="-days_late")
        assert count == 1 and rows[0].code == "LARRY" and rows[0].days_late == D("8.3")
        assert org_average_days_late(insights_book["org"]) == D("8.3")
        rows, _ = behaviour_report(insights_book["org"], sort="name")
        assert [r.code for r in rows] == ["LARRY"]


def test_forecast_shifts_due_dates_by_lateness(insights_book):
    org = insights_book["org"]
    with tenant_context(org):
        f = forecast(org)
        assert f.org_late == D("8.3")
        # Larry's open 250 was due 10 days ago; + 8 days late → expected 2 days ago: already late.
        assert (f.overdue.amount, f.overdue.count) == (D("250.00"), 1)
        # Larry's 40 due in 30 days → expected in 38 days: week index 5 (days 35–41).
        assert (f.weeks[5].amount, f.weeks[5].count) == (D("40.00"), 1)
        # Nora has no history: the organization's 8.3 → 8 days: due in 3 → expected in 11: week 2 (index 1).
        assert (f.weeks[1].amount, f.weeks[1].count) == (D("70.00"), 1)
        assert f.total_13_weeks == D("110.00") and f.later.amount == 0
        rows, n = week_invoices(org, 1)
        assert n == 1 and rows[0].customer_name == "New Nora" and rows[0].org_average
        assert rows[0].expected_on == h.today() + timedelta(days=11)


def test_pages(insights_book):
    client = Client()
    client.force_login(insights_book["owner"])
    slug = insights_book["org"].slug
    insights = client.get(reverse("insights_report", kwargs={"org_slug": slug}) + "?sort=days_to_pay")
    assert insights.status_code == 200 and "Late Larry" in insights.content.decode()
    assert '<svg class="spark"' in insights.content.decode()
    assert "Days to pay ▲" in insights.content.decode()  # the current sort is shown
    default = client.get(reverse("insights_report", kwargs={"org_slug": slug})).content.decode()
    assert "Days late ▼" in default and "Days to pay ▲" not in default
    page = client.get(reverse("forecast_report", kwargs={"org_slug": slug})).content.decode()
    assert "How this is computed" in page and '<svg class="chart"' in page and "8.3 days" in page
    week = client.get(reverse("forecast_week", kwargs={"org_slug": slug, "week": "overdue"}))
    assert week.status_code == 200 and "Late Larry" in week.content.decode()
    assert client.get(reverse("forecast_week", kwargs={"org_slug": slug, "week": "99"})).status_code == 404
    customer = client.get(reverse("customer_detail", kwargs={"org_slug": slug, "pk": insights_book["a"].pk})
                          ).content.decode()
    assert "Payment behaviour" in customer and "36.7" in customer and "33%" in customer
