"""The dashboard against a small hand-computed book: outstanding, overdue, DSO, collections, top debtors."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ledger_site.tenancy import tenant_context
from reports import dashboard
from reports.summaries import (
    derived_daily_flow,
    derived_open_by_due,
    derived_paid_invoices,
    stored_daily_flow,
    stored_open_by_due,
    stored_paid_invoices,
)
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def dashboard_book():
    org, owner = make_org(name="Dash Co", slug="dash-co")
    with tenant_context(org):
        a = CustomerFactory(organization=org, name="Alpha", code="A")
        b = CustomerFactory(organization=org, name="Beta", code="B")
        i1 = h.invoice(org, a, "1000.00", h.ago(100), h.ago(70))
        h.pay(org, a, "400.00", h.ago(60), {i1: "400.00"})
        h.invoice(org, a, "200.00", h.ago(20), h.ago(-3))
        h.invoice(org, b, "300.00", h.ago(40), h.ago(10))
        h.pay(org, b, "50.00", h.ago(5))
        voided = h.invoice(org, b, "70.00", h.ago(10), h.ago(-20))
        h.void(voided, h.ago(9))
        bounced = h.pay(org, b, "20.00", h.ago(3))
        h.reverse(bounced, h.ago(2))
    return {"org": org, "owner": owner, "a": a, "b": b}


def test_dashboard_figures(dashboard_book):
    org = dashboard_book["org"]
    with tenant_context(org):
        d = dashboard.build(org)
    assert d.outstanding == D("1050.00")  # 600 + 200 + 300 − 50
    assert (d.overdue, d.overdue_count) == (D("900.00"), 2)
    assert (d.due_soon, d.due_soon_count) == (D("200.00"), 1)
    assert d.unapplied == D("50.00") and d.open_invoices == D("1100.00")
    assert [b.label for b in d.buckets] == ["Current", "1–30", "31–60", "61–90", "Over 90"]
    assert d.bucket_amounts == [D("200.00"), D("300.00"), D(0), D("600.00"), D(0)]
    # Invoiced in the last 90 days: 200 + 300 (the voided 70 is not a sale; the 1,000 is older).
    assert d.invoiced_dso_window == D("500.00")
    assert d.dso == D("189.0")  # 1,050 × 90 / 500
    # Collections: the 400 and the 50 by the month received; the reversed 20 does not count.
    expected = {}
    for amount, day in ((D("400.00"), h.ago(60)), (D("50.00"), h.ago(5))):
        expected[day.replace(day=1)] = expected.get(day.replace(day=1), D(0)) + amount
    assert {m: v for m, v in d.months if v} == expected
    assert len(d.months) == 12 and d.months[-1][0] == h.today().replace(day=1)
    assert d.collected_this_month == expected.get(h.today().replace(day=1), D(0))
    assert [(t["customer"].code, t["balance"], t["overdue"]) for t in d.top_debtors] == [
        ("A", D("800.00"), D("600.00")), ("B", D("250.00"), D("300.00"))]
    assert [e["entry"].memo for e in d.recent][0].startswith("Reversal of")


def test_dso_definition_on_a_round_example():
    org, _ = make_org()
    with tenant_context(org):
        c = CustomerFactory(organization=org)
        h.invoice(org, c, "900.00", h.ago(30), h.ago(0))
        d = dashboard.build(org)
    assert d.dso == D("90.0")  # all of the last 90 days' sales unpaid: 90 days outstanding
    with tenant_context(org):
        inv = h.invoice(org, c, "900.00", h.ago(20), h.ago(-10))
        h.pay(org, c, "900.00", h.ago(1), {inv: "900.00"})
        d = dashboard.build(org)
    assert d.dso == D("45.0")  # 900 owed / 1,800 sold × 90


def test_summaries_are_exact(dashboard_book):
    org = dashboard_book["org"]
    with tenant_context(org):
        assert stored_open_by_due(org) == derived_open_by_due(org)
        assert stored_daily_flow(org) == derived_daily_flow(org)
        assert stored_paid_invoices(org) == derived_paid_invoices(org)


def test_dashboard_page_renders_charts(dashboard_book):
    client = Client()
    client.force_login(dashboard_book["owner"])
    response = client.get(reverse("dashboard", kwargs={"org_slug": dashboard_book["org"].slug}))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<svg class="chart"') == 2
    assert "1,050.00 EUR" in html and "189.0 days" in html and "Days sales outstanding" in html
    assert "Alpha" in html and "Top 10 debtors" in html
    # Recent activity is in posting order; a backdated entry says which day it is for.
    assert f"dated {h.ago(2).day} {h.ago(2):%b %Y}" in html  # the bounced payment's reversal


def test_new_organization_sees_the_welcome():
    org, owner = make_org()
    client = Client()
    client.force_login(owner)
    html = client.get(reverse("dashboard", kwargs={"org_slug": org.slug})).content.decode()
    assert "Let’s get your ledger started" in html and "<svg" not in html


@pytest.mark.parametrize("value, shown", [(D("-12"), "−12"), (D("7"), "+7"), (D("0"), "+0"), (None, "")])
def test_a_change_is_signed_with_the_minus_sign_of_amounts(value, shown):
    from accounts.templatetags.ledger_tags import signed

    assert signed(value) == shown


def test_chart_labels_write_negatives_like_the_pages():
    from reports.charts import Bar, bar_chart, compact

    assert (compact(D("-1260")), compact(D("-40.70")), compact(D("2500000"))) == ("−1.3k", "−41", "2.5M")
    svg = bar_chart([Bar("Refunds", D("-40.70"))], "EUR", title="t")
    assert "Refunds: −40.70 EUR" in svg and ">−41<" in svg and "-4" not in svg
