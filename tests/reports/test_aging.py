"""Aging as of a past date after later payments, partials, credit notes, un-allocations, reversals,
refunds, write-offs and voids: against a hand-computed expectation, and reconciled to the AR control."""

from decimal import Decimal

import pytest

from accounts.ledger import customer_balance
from ledger_site.tenancy import tenant_context
from payments.models import Allocation
from reports.aging import aging, bucket_of, cell_items, make_buckets, query_for
from reports.asof import open_items
from reports.models import ReportSettings
from reports.spans import derived_spans, stored_spans
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def aging_book():
    """Two customers with a history that straddles the as-of date D = 40 days ago."""
    org, owner = make_org()
    with tenant_context(org):
        a = CustomerFactory(organization=org, name="Alpha Ltd", code="ALPHA", tags="wholesale, eu")
        b = CustomerFactory(organization=org, name="Beta GmbH", code="BETA", tags="retail")
        i1 = h.invoice(org, a, "1000.00", h.ago(100), h.ago(70))
        i2 = h.invoice(org, a, "500.00", h.ago(60), h.ago(30))
        i4 = h.invoice(org, a, "200.00", h.ago(90), h.ago(60))
        i5 = h.invoice(org, a, "70.00", h.ago(80), h.ago(50))
        i6 = h.invoice(org, a, "90.00", h.ago(85), h.ago(55))
        h.void(i6, h.ago(45))
        h.pay(org, a, "400.00", h.ago(50), {i1: "400.00"})
        p5 = h.pay(org, a, "50.00", h.ago(52), {i1: "50.00"})
        h.credit(i2, "100.00", h.ago(45))
        p4 = h.pay(org, a, "150.00", h.ago(55), {i2: "150.00"})
        h.unapply(Allocation.objects.get(payment=p4), h.ago(42))
        p3 = h.pay(org, a, "200.00", h.ago(48))
        p6 = h.pay(org, a, "300.00", h.ago(70))
        h.refund(p6, "100.00", h.ago(44))
        h.write_off(i4, "80.00", h.ago(41))
        # --- after D: none of this may show in the aging as of D ---
        h.void(i5, h.ago(39))
        h.reverse(p5, h.ago(35))
        h.pay(org, a, "600.00", h.ago(30), {i1: "600.00"})
        i3 = h.invoice(org, a, "300.00", h.ago(20), h.ago(-10))
        h.apply_later(p3, i2, "200.00", h.ago(10))
        h.write_off(i4, "120.00", h.ago(10))
        h.refund(p6, "50.00", h.ago(20))
        i8 = h.invoice(org, b, "250.00", h.ago(200), h.ago(170))
        h.pay(org, b, "80.00", h.ago(45))
        i7 = h.invoice(org, b, "40.00", h.ago(10), h.ago(-20))
    return {"org": org, "owner": owner, "a": a, "b": b, "i1": i1, "i2": i2, "i3": i3, "i4": i4, "i5": i5,
            "i7": i7, "i8": i8}


def _rows(report):
    return {r.code: (r.buckets, r.unapplied, r.total) for r in report.rows}


def test_aging_as_of_a_past_date_matches_the_hand_computed_expectation(aging_book):
    org = aging_book["org"]
    with tenant_context(org):
        report = aging(org, query_for(org, h.ago(40), basis="due"))
    assert [b.label for b in report.buckets] == ["Current", "1–30", "31–60", "61–90", "Over 90"]
    assert _rows(report) == {
        "ALPHA": ([D("400"), D("740"), D(0), D(0), D(0)], D("550"), D("590")),
        "BETA": ([D(0), D(0), D(0), D(0), D("250")], D("80"), D("170")),
    }
    assert report.everything.total == report.control == D("760")
    assert report.reconciles
    assert report.everything.buckets == [D("400"), D("740"), D(0), D(0), D("250")]
    with tenant_context(org):
        assert customer_balance(aging_book["a"], h.ago(40)) == D("590")
        assert customer_balance(aging_book["b"], h.ago(40)) == D("170")


def test_aging_today_matches_the_hand_computed_expectation(aging_book):
    org = aging_book["org"]
    with tenant_context(org):
        report = aging(org, query_for(org, h.today(), basis="due"))
    assert _rows(report) == {
        "ALPHA": ([D("300"), D("200"), D(0), D(0), D(0)], D("300"), D("200")),
        "BETA": ([D("40"), D(0), D(0), D(0), D("250")], D("80"), D("210")),
    }
    assert report.control == D("410") and report.reconciles


def test_aging_by_invoice_date(aging_book):
    org = aging_book["org"]
    with tenant_context(org):
        report = aging(org, query_for(org, h.ago(40), basis="issue"))
    assert [b.label for b in report.buckets] == ["0–30", "31–60", "61–90", "Over 90"]
    assert _rows(report)["ALPHA"][0] == [D("400"), D("740"), D(0), D(0)]
    assert _rows(report)["BETA"][0] == [D(0), D(0), D(0), D("250")]


def test_drill_down_lists_the_invoices_behind_a_cell(aging_book):
    org = aging_book["org"]
    with tenant_context(org):
        q = query_for(org, h.ago(40), basis="due")
        items = cell_items(org, aging_book["a"].pk, q, 1)
        unapplied = cell_items(org, aging_book["a"].pk, q, None)
    assert {(it.item_id, it.amount) for it in items} == {
        (aging_book["i1"].pk, D("550")), (aging_book["i4"].pk, D("120")), (aging_book["i5"].pk, D("70"))}
    assert sorted(it.amount for it in unapplied) == [D("150"), D("200"), D("200")]
    assert all(it.kind == "p" for it in unapplied)


def test_fast_and_direct_evaluations_agree_and_spans_are_exact(aging_book):
    org = aging_book["org"]
    with tenant_context(org):
        assert stored_spans(org) == derived_spans(org)
        for days in (300, 100, 60, 45, 40, 35, 20, 10, 0, -5):
            day = h.ago(days)
            fast = {(i.kind, i.item_id): i.amount for i in open_items(org, day)}
            direct = {(i.kind, i.item_id): i.amount
                      for i in open_items(org, day, [aging_book["a"].pk, aging_book["b"].pk])}
            assert fast == direct == h.reference_items(org, day), day


def test_filters_sorting_and_paging(aging_book):
    org = aging_book["org"]
    with tenant_context(org):
        extra = CustomerFactory(organization=org, name="Gamma", code="GAMMA", tags="wholesale")
        h.invoice(org, extra, "5.00", h.ago(5))
        q = query_for(org, h.today())
        assert [r.code for r in aging(org, q).rows] == ["ALPHA", "BETA", "GAMMA"]
        q.tag = "Wholesale"
        report = aging(org, q)
        assert [r.code for r in report.rows] == ["ALPHA", "GAMMA"]
        assert report.filtered.total == D("205") and report.everything.total == D("415")
        assert report.reconciles  # the comparison uses all customers, whatever the filters
        q.tag, q.min_amount = "", D("100")
        assert [r.code for r in aging(org, q).rows] == ["ALPHA", "BETA"]
        q.min_amount, q.only_overdue = None, True
        assert [r.code for r in aging(org, q).rows] == ["ALPHA", "BETA"]
        q.only_overdue, q.sort = False, "-total"
        assert [r.code for r in aging(org, q).rows] == ["BETA", "ALPHA", "GAMMA"]
        q.sort, q.page_size, q.page = "b4", 2, 2
        report = aging(org, q)
        assert [r.code for r in report.rows] == ["BETA"] and report.row_count == 3 and report.pages == 2


def test_configured_buckets(aging_book):
    org = aging_book["org"]
    with tenant_context(org):
        ReportSettings.objects.create(organization=org, aging_limits="15,45")
        report = aging(org, query_for(org, h.ago(40)))
    assert [b.label for b in report.buckets] == ["Current", "1–15", "16–45", "Over 45"]
    # ALPHA: I2 current 400; I1 (age 30) 550 and I4 (age 20) 120 in 16–45; I5 (age 10) 70 in 1–15.
    assert _rows(report)["ALPHA"][0] == [D("400"), D("70"), D("670"), D(0)]


def test_bucket_boundaries():
    buckets = make_buckets([30, 60, 90], "due")
    assert [bucket_of(age, buckets) for age in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 4000)] == \
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    by_issue = make_buckets([30, 60, 90], "issue")
    assert [bucket_of(age, by_issue) for age in (0, 30, 31, 90, 91)] == [0, 0, 1, 2, 3]
