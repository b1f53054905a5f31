"""DSO by three formulas and the collection KPIs on hand-made books with known answers (issue 20).

The book: books start 15 Jul 2025; invoices of 3,000 on 15 Jul and 10 Aug (30 days' terms), no
sales after that; 1,000 paid on 5 Sep and 1,000 on 1 Nov (to the July invoice).

Q3 2025 (92 days, sales stop in mid-August), as of 30 Sep: AR 5,000, sales 6,000.
  period-end = 5,000 / 6,000 × 92 = 76.67 → 76.7
  average    = (0 + 5,000) / 2 / 6,000 × 92 = 38.33 → 38.3
  count-back = Sep 30 d (no sales) + Aug 31 d (3,000 of 5,000) + Jul 2,000 / 3,000 × 31 = 81.67 → 81.7
  best       = 0 (both invoices overdue on 30 Sep) → ADD 76.7; CEI = 1,000 / 6,000 = 16.7 %.
Q4 2025 (no sales at all), as of 31 Dec: AR 4,000.
  period-end, average: not computable (no sales);
  count-back = Dec 31 + Nov 30 + Oct 31 + Sep 30 + Aug 31 (3,000) + Jul 1,000 / 3,000 × 31 = 163.3,
  running back past the quarter's start into Q3; at risk = 100 % (both billed before 2 Oct).
"""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ledger_site.tenancy import tenant_context
from reports import dashboard, dso, kpis
from reports.models import ReportSettings
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def dso_book():
    org, owner = make_org(name="DSO Co", slug="dso-co")
    with tenant_context(org):
        c = CustomerFactory(organization=org, name="Gamma", code="G", currency="EUR")
        july = h.invoice(org, c, "3000.00", date(2025, 7, 15), date(2025, 8, 14))
        h.invoice(org, c, "3000.00", date(2025, 8, 10), date(2025, 9, 9))
        h.pay(org, c, "1000.00", date(2025, 9, 5), {july: "1000.00"})
        h.pay(org, c, "1000.00", date(2025, 11, 1), {july: "1000.00"})
    return {"org": org, "owner": owner, "customer": c}


def test_sales_stop_mid_quarter(dso_book):
    org = dso_book["org"]
    with tenant_context(org):
        d = dso.for_period(org, "EUR", "quarter", date(2025, 9, 30))
        k = kpis.kpis(org, "EUR", "quarter", date(2025, 9, 30))
    assert (d.start, d.end, d.days) == (date(2025, 7, 1), date(2025, 9, 30), 92)
    assert (d.sales, d.ar_open, d.ar_close, d.current) == (D("6000.00"), D(0), D("5000.00"), D(0))
    assert (d.period_end, d.average, d.count_back, d.best) == (D("76.7"), D("38.3"), D("81.7"), D("0.0"))
    assert [(s.start, s.days_used) for s in d.steps][:2] == [(date(2025, 9, 1), 30), (date(2025, 8, 1), 31)]
    assert d.steps[2].days_used.quantize(D("0.0001")) == D("20.6667")
    assert (k.cei, k.add, k.at_risk_rate) == (D("16.7"), D("76.7"), D("0.0"))


def test_quarter_without_sales_and_count_back_past_its_start(dso_book):
    org = dso_book["org"]
    with tenant_context(org):
        d = dso.for_period(org, "EUR", "quarter", date(2025, 12, 31))
        k = kpis.kpis(org, "EUR", "quarter", date(2025, 12, 31))
    assert d.sales == 0 and d.ar_close == D("4000.00") and d.ar_open == D("5000.00")
    assert d.period_end is None and d.average is None and "No credit sales" in d.reason(dso.PERIOD_END)
    assert d.count_back == D("163.3")
    assert [s.start for s in d.steps] == [date(2025, m, 1) for m in (12, 11, 10, 9, 8, 7)]  # past 1 Oct
    assert k.add is None and k.at_risk_rate == D("100.0") and k.at_risk == D("4000.00")
    # CEI: (5,000 + 0 − 4,000) / (5,000 + 0 − 0) = 20 %.
    assert k.cei == D("20.0")


def test_month_to_date_and_trend(dso_book):
    org = dso_book["org"]
    with tenant_context(org):
        aug = dso.for_period(org, "EUR", "month", date(2025, 8, 20))
        quarters = dso.trend(org, "EUR", date(2025, 12, 31), "quarter", 8)
        months = dso.trend(org, "EUR", date(2025, 12, 31), "month", 12)
    # 1–20 Aug: AR 6,000, sales 3,000, 20 days → 40.0; average (3,000 + 6,000) / 2 → 30.0.
    assert (aug.days, aug.period_end, aug.average) == (20, D("40.0"), D("30.0"))
    # count-back from 20 Aug: Aug to date 20 d (3,000 of 6,000), then all of July's 3,000 (31 d).
    assert aug.count_back == D("51.0")
    # Periods wholly before the books start are left out; each stands as at its own end.
    assert [q.label for q in quarters] == ["Q3 2025", "Q4 2025"]
    assert [q.count_back for q in quarters] == [D("81.7"), D("163.3")]
    assert [m.label for m in months] == ["Jul 2025", "Aug 2025", "Sep 2025", "Oct 2025", "Nov 2025", "Dec 2025"]
    assert months[0].period_end == D("31.0")  # 3,000 / 3,000 × 31


def test_void_after_the_period_was_still_a_sale_then(dso_book):
    org, c = dso_book["org"], dso_book["customer"]
    with tenant_context(org):
        late = h.invoice(org, c, "600.00", date(2025, 9, 20), date(2025, 10, 20))
        h.void(late, date(2025, 10, 5))
        q3 = dso.for_period(org, "EUR", "quarter", date(2025, 9, 30))
        q4 = dso.for_period(org, "EUR", "quarter", date(2025, 10, 31))
        later = dso.load(org, "EUR", date(2025, 10, 31))
        q3_then, q3_now = (later.sales(date(2025, 7, 1), date(2025, 9, 30)),
                           later.sales(date(2025, 7, 1), date(2025, 9, 30), seen_at=date(2025, 10, 31)))
    assert (q3.sales, q3.ar_close) == (D("6600.00"), D("5600.00"))  # as it stood on 30 Sep
    assert q4.sales == 0 and q4.ar_close == D("5000.00")
    assert (q3_then, q3_now) == (D("6600.00"), D("6000.00"))


def test_bad_as_of_dates_say_why(dso_book):
    org = dso_book["org"]
    with tenant_context(org):
        with pytest.raises(dso.Unavailable, match="before the books start"):
            dso.for_period(org, "EUR", "quarter", date(2025, 7, 14))
        with pytest.raises(dso.Unavailable, match="in the future"):
            dso.for_period(org, "EUR", "quarter", h.ago(-1))
    empty, _ = make_org()
    with tenant_context(empty), pytest.raises(dso.Unavailable, match="Nothing has been posted"):
        dso.for_period(empty, "EUR", "month", h.today())


def test_count_back_cannot_reach_receivables_older_than_the_books():
    """Receivables larger than every sale since the books start (an opening balance carried in
    without its invoices) leave count-back with AR it cannot explain: a statement, not a number."""
    history = dso.History(org=None, currency="EUR", as_of=date(2025, 9, 30), books_start=date(2025, 7, 1),
                          ar_days=[date(2025, 7, 1), date(2025, 8, 5)], ar_running=[D(5000), D(6000)],
                          sale_days=[date(2025, 8, 5)], sale_running=[D(1000)])
    d = dso.figures(history, date(2025, 7, 1), date(2025, 9, 30))
    assert d.count_back is None and "more than everything invoiced since the books start" in d.count_back_reason
    assert [s.start for s in d.steps] == [date(2025, 9, 1), date(2025, 8, 1), date(2025, 7, 1)]
    assert d.period_end == D("552.0")  # 6,000 / 1,000 × 92: the other formulas still stand
    # With just enough sales, the walk stops inside the first month of the books.
    history.sale_days, history.sale_running = [date(2025, 7, 1), date(2025, 8, 5)], [D(5000), D(6000)]
    assert dso.figures(history, date(2025, 7, 1), date(2025, 9, 30)).count_back == D("92.0")


def test_dashboard_headlines_the_chosen_formula(dso_book):
    org = dso_book["org"]
    with tenant_context(org):
        plain = dashboard.build(org)
        ReportSettings.objects.update_or_create(organization=org, defaults={"dso_formula": "count_back"})
        chosen = dashboard.build(org)
        expected = dso.figures(dso.load(org, "EUR", h.today()), dso.period_start("days90", h.today()), h.today())
    assert plain.dso_formula == "period_end" and plain.dso is None and plain.invoiced_dso_window == 0
    assert chosen.dso_formula == "count_back" and chosen.dso == expected.count_back is not None


def test_pages_show_figures_and_reasons(dso_book):
    org, owner = dso_book["org"], dso_book["owner"]
    client = Client()
    client.force_login(owner)
    base = reverse("dso_report", kwargs={"org_slug": org.slug})
    page = client.get(base, {"as_of": "2025-09-30", "kind": "quarter", "formula": "count_back"})
    text = page.content.decode()
    assert page.status_code == 200 and 'data-figure="dso-headline">81.7 days' in text
    assert 'data-figure="dso-period_end">76.7' in text and 'data-figure="dso-average">38.3' in text
    assert "style=" not in text.split("<main", 1)[-1]
    empty_q = client.get(base, {"as_of": "2025-12-31", "kind": "quarter", "formula": "average"}).content.decode()
    assert "No credit sales from 2025-10-01 to 2025-12-31" in empty_q
    for bad, why in (("2025-07-01", "before the books start"), ("2099-01-01", "within ten years"),
                     ("not-a-date", "valid date")):
        text = client.get(base, {"as_of": bad}).content.decode()
        assert "data-problem" in text and why in text, bad
    kpi = client.get(reverse("collection_kpis", kwargs={"org_slug": org.slug}),
                     {"as_of": "2025-12-31", "kind": "quarter"}).content.decode()
    assert 'data-figure="cei">20.0%' in kpi and 'data-figure="at-risk">100.0%' in kpi
    drill = client.get(reverse("kpi_invoices", kwargs={"org_slug": org.slug}),
                       {"as_of": "2025-12-31", "kind": "quarter", "set": "at_risk"}).content.decode()
    assert 'data-figure="total">4,000.00' in drill and drill.count("/invoices/") >= 2
    assert "data-problem" in client.get(reverse("kpi_invoices", kwargs={"org_slug": org.slug}),
                                        {"set": "nonsense"}).content.decode()


def test_dashboard_as_of_a_past_day(dso_book):
    org, owner = dso_book["org"], dso_book["owner"]
    with tenant_context(org):
        q3 = dashboard.build(org, as_of=date(2025, 9, 30))
        aug = dashboard.build(org, as_of=date(2025, 8, 20))
    assert q3.past and (q3.outstanding, q3.open_invoices, q3.overdue, q3.overdue_count) == (
        D("5000.00"), D("5000.00"), D("5000.00"), 2)
    assert q3.months[-1] == (date(2025, 9, 1), D("1000.00")) and q3.collected_this_month == D("1000.00")
    assert [(t["customer"].name, t["balance"], t["overdue"]) for t in q3.top_debtors] == [
        ("Gamma", D("5000.00"), D("5000.00"))]
    # 20 Aug: the July invoice is overdue (due 14 Aug), the August one current; nothing paid yet.
    assert (aug.outstanding, aug.overdue, aug.bucket_amounts[0], aug.unapplied) == (
        D("6000.00"), D("3000.00"), D("3000.00"), D(0))
    assert aug.dso == D("90.0")  # 6,000 × 90 / 6,000 invoiced in the 90 days to 20 Aug
    client = Client()
    client.force_login(owner)
    home = reverse("dashboard", kwargs={"org_slug": org.slug})
    text = client.get(home, {"as_of": "2025-09-30"}).content.decode()
    assert "As it stood at the end of" in text and 'data-figure="outstanding">' in text and "5,000.00" in text
    for bad, why in (("2025-07-01", "before the books start"), ("2099-01-01", "in the future"),
                     ("31/12", "not a date")):
        page = client.get(home, {"as_of": bad})
        assert page.status_code == 200 and why in page.content.decode(), bad
