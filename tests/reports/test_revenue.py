"""Revenue by customer, tag and item: the figures, the comparison periods, and the total that
equals the profit-and-loss revenue (sales revenue + returns) of the same period."""

from datetime import date
from decimal import Decimal

import pytest

from invoicing.credit_notes import credit_amount, credit_invoice_lines
from invoicing.items import save_item
from invoicing.services import issue_invoice, void_invoice
from ledger_site.tenancy import tenant_context
from reports.pnl import profit_and_loss
from reports.revenue import revenue_by_segment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft
from tests.ledger_helpers import flat_rates

pytestmark = pytest.mark.django_db


@pytest.fixture
def trading(db):
    org, owner = make_org(name="Segment Co")
    start, today = date(2026, 3, 1), date(2026, 3, 10)  # a fixed period: the previous one is 19–28 Feb
    with tenant_context(org, owner):
        alpha = CustomerFactory(organization=org, name="Alpha", code="ALPHA", tags="wholesale, eu")
        beta = CustomerFactory(organization=org, name="Beta", code="BETA", tags="retail")
        gamma = CustomerFactory(organization=org, name="Gamma", code="GAMMA", tags="")
        design = save_item(org, None, {"code": "DES", "name": "Design", "description": "", "unit": "h",
                                       "tax_rate": None}, {"EUR": Decimal("100")})

        def invoice(customer, lines, day, item=None):
            inv = draft(org, customer, lines, issue_date=day)
            if item:
                inv.lines.filter(position=1).update(item=item)
            return issue_invoice(inv)

        a1 = invoice(alpha, [("Design", "10", "100.00", "20"), ("Misc", "1", "50.00", None)], start, design)
        invoice(beta, [("Design", "2", "100.00", "20")], start, design)
        voided = invoice(gamma, [("Oops", "1", "300.00", "20")], start)
        void_invoice(voided, "wrong customer", effective_date=start)
        credit_invoice_lines(a1, {a1.lines.get(position=1).pk: Decimal("2")}, "hours", issue_date=start)
        credit_amount(beta, Decimal("24.00"), "goodwill", tax_percent=Decimal("20"), issue_date=start)
        # the previous month and a year ago, for the comparison columns
        invoice(alpha, [("Design", "1", "100.00", None)], date(2026, 2, 20), design)
        invoice(alpha, [("Design", "3", "100.00", None)], start.replace(year=start.year - 1), design)
    return org, owner, start, today


def test_by_customer_with_credits_voids_and_comparisons(trading):
    org, owner, start, today = trading
    with tenant_context(org, owner):
        report = revenue_by_segment(org, "customer", start, today)
    rows = {r.label: (r.invoiced, r.credited, r.net) for r in report.rows}
    assert rows["Alpha (ALPHA)"] == (Decimal("1050.00"), Decimal("200.00"), Decimal("850.00"))
    assert rows["Beta (BETA)"] == (Decimal("200.00"), Decimal("20.00"), Decimal("180.00"))
    assert rows["Gamma (GAMMA)"] == (Decimal("300.00"), Decimal("300.00"), Decimal("0.00"))
    assert report.total.net == Decimal("1030.00")
    alpha = next(r for r in report.rows if r.label == "Alpha (ALPHA)")
    assert alpha.last_year == Decimal("300.00")


@pytest.mark.parametrize("by", ["customer", "tag", "item"])
def test_the_total_equals_the_profit_and_loss_revenue_of_the_period(trading, by):
    org, owner, start, today = trading
    with tenant_context(org, owner):
        report = revenue_by_segment(org, by, start, today)
        pnl = profit_and_loss(org, start, today)
    revenue = sum(line.amount for line in pnl.income if line.account.system_key in ("revenue", "returns"))
    assert report.total.net == revenue == Decimal("1030.00")
    previous = sum(line.previous for line in pnl.income if line.account.system_key in ("revenue", "returns"))
    assert report.total.previous == previous


def test_by_tag_counts_a_customer_under_each_tag_and_by_item_has_a_rest(trading):
    org, owner, start, today = trading
    with tenant_context(org, owner):
        tags = {r.label: r.net for r in revenue_by_segment(org, "tag", start, today).rows}
        items = {r.label: r.net for r in revenue_by_segment(org, "item", start, today).rows}
    assert tags == {"wholesale": Decimal("850.00"), "eu": Decimal("850.00"), "retail": Decimal("180.00"),
                    "No tag": Decimal("0.00")}
    # design: 1000 + 200 invoiced, 200 credited by line; the rest: misc 50, the voided 300 − 300, goodwill −20
    assert items == {"Design (DES)": Decimal("1000.00"), "No item": Decimal("30.00")}


def test_the_page_and_the_csv(trading, client):
    org, owner, start, today = trading
    client.force_login(owner)
    url = f"/o/{org.slug}/reports/revenue/?by=item&start={start}&end={today}"
    page = client.get(url).content.decode()
    assert "Design (DES)" in page and "1,030.00" in page
    csv = client.get(url + "&format=csv").content.decode()
    assert csv.splitlines()[1] == "Design (DES),1200.00,200.00,1000.00,100.00,300.00,EUR"
    assert client.get(f"/o/{org.slug}/reports/revenue/?start=2026-05-01&end=2026-01-01").status_code == 200


def test_another_currency_is_reported_apart(trading):
    org, owner, start, today = trading
    with tenant_context(org, owner):
        usd = CustomerFactory(organization=org, name="Dollar", code="USD1", currency="USD")
        flat_rates(org, {"USD": "0.92"})
        issue_invoice(draft(org, usd, [("Work", "1", "999.00", None)], issue_date=start))
        assert revenue_by_segment(org, "customer", start, today, "EUR").total.net == Decimal("1030.00")
        assert revenue_by_segment(org, "customer", start, today, "USD").total.net == Decimal("999.00")


def test_the_xlsx_has_the_csvs_columns_with_numbers_as_numbers(trading, client):
    import csv
    import io

    from openpyxl import load_workbook

    org, owner, start, today = trading
    client.force_login(owner)
    url = f"/o/{org.slug}/reports/revenue/?by=item&start={start}&end={today}"
    response = client.get(url + "&format=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    from_csv = list(csv.reader(io.StringIO(client.get(url + "&format=csv").content.decode())))
    assert cells[0] == from_csv[0]
    assert len(cells) == len(from_csv)
    for got, text in zip(cells[1:], from_csv[1:], strict=True):
        assert got[0] == text[0] and got[-1] == text[-1] == "EUR"
        assert all(isinstance(v, int | float) for v in got[1:-1])  # numbers, not text
        assert [Decimal(str(v)).quantize(Decimal("0.01")) for v in got[1:-1]] == [Decimal(v) for v in text[1:-1]]
    assert cells[1][:4] == ["Design (DES)", 1200, 200, 1000]
    assert sheet["B2"].number_format == "#,##0.00"
