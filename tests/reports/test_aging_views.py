"""The aging pages: the report, the drill-down to invoices, CSV / XLSX / PDF exports, settings."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, Role
from ledger_site.tenancy import tenant_context
from reports.models import ReportSettings
from tests.factories import CustomerFactory, add_member, make_org
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def aging_world():
    org, owner = make_org(name="Views Co", slug="views-co")
    with tenant_context(org):
        a = CustomerFactory(organization=org, name="Alpha =Ltd", code="ALPHA")
        b = CustomerFactory(organization=org, name="Beta", code="BETA")
        i1 = h.invoice(org, a, "100.00", h.ago(50), h.ago(40))
        i2 = h.invoice(org, a, "30.00", h.ago(5), h.ago(-25))
        h.pay(org, a, "25.00", h.ago(3))
        h.invoice(org, b, "400.00", h.ago(120), h.ago(100))
    client = Client()
    client.force_login(owner)
    return {"org": org, "owner": owner, "a": a, "b": b, "i1": i1, "i2": i2, "client": client}


def url(aging_world, name, **kwargs):
    return reverse(name, kwargs={"org_slug": aging_world["org"].slug, **kwargs})


def test_aging_page_shows_buckets_totals_and_reconciliation(aging_world):
    response = aging_world["client"].get(url(aging_world, "aging_report"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-reconciles="yes"' in html
    report = response.context["report"]
    assert report.everything.total == report.control == Decimal("505.00")
    assert [r.code for r in report.rows] == ["ALPHA", "BETA"]
    assert "Alpha =Ltd" in html and "Over 90" in html
    cell = url(aging_world, "aging_cell", pk=aging_world["a"].pk)
    assert cell in html  # amounts link to their invoices


def test_drill_down_from_a_cell_to_the_invoice(aging_world):
    response = aging_world["client"].get(url(aging_world, "aging_cell", pk=aging_world["a"].pk) + "?bucket=2")
    assert response.status_code == 200
    html = response.content.decode()
    assert aging_world["i1"].number in html
    assert url(aging_world, "invoice_detail", pk=aging_world["i1"].pk) in html
    assert aging_world["i2"].number not in html
    unapplied = aging_world["client"].get(url(aging_world, "aging_cell", pk=aging_world["a"].pk) + "?bucket=u")
    assert "25.00" in unapplied.content.decode()


def test_drill_down_of_another_organizations_customer_is_404(aging_world):
    other, _ = make_org()
    with tenant_context(other):
        stranger = CustomerFactory(organization=other)
    response = aging_world["client"].get(url(aging_world, "aging_cell", pk=stranger.pk))
    assert response.status_code == 404
    assert aging_world["client"].get(
        url(aging_world, "aging_cell", pk=aging_world["a"].pk) + "?bucket=99").status_code == 404


def test_csv_export_has_every_row_totals_and_control(aging_world):
    response = aging_world["client"].get(url(aging_world, "aging_export", fmt="csv") + "?sort=-total")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][:3] == ["Code", "Customer", "Current"]
    assert rows[2][0] == "BETA" and rows[2][-1] == "400.00"
    alpha = rows[3]
    assert alpha[1] == "Alpha =Ltd" and alpha[-2] == "-25.00" and alpha[-1] == "105.00"
    assert rows[-2][1].startswith("AR control") and rows[-2][-1] == "505.00"
    assert rows[-1][1] == "Difference" and rows[-1][-1] == "0.00"


def test_xlsx_export_has_exact_amounts(aging_world):
    from openpyxl import load_workbook

    response = aging_world["client"].get(url(aging_world, "aging_export", fmt="xlsx"))
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    alpha = next(r for r in values if r[0] == "ALPHA")
    assert Decimal(str(alpha[-1])) == Decimal("105") and Decimal(str(alpha[2])) == Decimal("30")
    assert ws["C4"].number_format == "#,##0.00"


def test_pdf_export_text(aging_world):
    from pypdf import PdfReader

    response = aging_world["client"].get(url(aging_world, "aging_export", fmt="pdf"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Views Co — Aging report" in text
    assert "Alpha =Ltd (ALPHA)" in text and "505.00" in text
    # pypdf may split a kerned word ("T otals"): compare this sentence without whitespace.
    assert "TotalsequaltheARcontrolaccount." in "".join(text.split())


def ascii_negative(html):
    """An amount written with the ASCII hyphen (dates in links, 2026-11-23, have no decimals)."""
    return re.search(r"-\d[\d,]*\.\d\d", html)


def test_a_customer_in_credit_is_shown_with_one_minus_sign_and_exported_with_ascii(aging_world):
    """Pages write every negative amount with "−" (U+2212): the unapplied column (a credit the
    template signs) and a negative total (signed by the amount filter) alike. CSV keeps "-"."""
    org = aging_world["org"]
    with tenant_context(org):
        gamma = CustomerFactory(organization=org, name="Gamma", code="GAMMA")
        h.invoice(org, gamma, "1234.00", h.ago(2))
        h.pay(org, gamma, "1274.50", h.ago(1))  # unapplied: in credit by 40.50
    html = aging_world["client"].get(url(aging_world, "aging_report")).content.decode()
    row = html[html.index("GAMMA"):]
    row = row[:row.index("</tr>")]
    assert "−1,274.50" in row and "<strong>−40.50</strong>" in row and "1,234.00" in row
    assert not ascii_negative(row)
    totals = html[html.index("<tfoot>"):html.index("</tfoot>")]
    assert "−1,299.50" in totals and "464.50" in totals and not ascii_negative(totals)
    items = aging_world["client"].get(url(aging_world, "open_items_report") + "?q=gamma").content.decode()
    assert "−1,274.50" in items and not ascii_negative(items)
    statement = aging_world["client"].get(url(aging_world, "customer_statement", pk=gamma.pk)).content.decode()
    assert "−40.50 EUR" in statement and "-40.50" not in statement
    exported = aging_world["client"].get(url(aging_world, "aging_export", fmt="csv")).content.decode("utf-8-sig")
    gamma_row = next(r for r in csv.reader(io.StringIO(exported)) if r[0] == "GAMMA")
    assert gamma_row[-2:] == ["-1274.50", "-40.50"] and "−" not in exported


def test_filters_in_the_page(aging_world):
    response = aging_world["client"].get(url(aging_world, "aging_report") + "?min_amount=200&overdue=on")
    report = response.context["report"]
    assert [r.code for r in report.rows] == ["BETA"]
    assert report.filtered.total == Decimal("400.00")
    assert report.filtered.unapplied == 0 and "−0.00" not in response.content.decode()  # no minus on nothing
    bad = aging_world["client"].get(url(aging_world, "aging_report") + "?as_of=not-a-date")
    assert bad.status_code == 200 and "Showing the defaults instead" in bad.content.decode()


def test_links_without_a_date_take_the_defaults_not_an_error(aging_world):
    """The dashboard links to ?currency=EUR&overdue=on&sort=-total: no as_of, not an error."""
    client = aging_world["client"]
    dashboard = client.get(reverse("dashboard", kwargs={"org_slug": aging_world["org"].slug})).content.decode()
    link = f'{url(aging_world, "aging_report")}?currency=EUR&amp;overdue=on&amp;sort=-total'
    assert link in dashboard
    response = client.get(link.replace("&amp;", "&"))
    assert not response.context["form"].errors and "Showing the defaults" not in response.content.decode()
    report = response.context["report"]
    assert report.as_of == h.today() and [r.code for r in report.rows] == ["BETA", "ALPHA"]  # overdue, by total
    unticked = client.get(url(aging_world, "aging_report") + "?as_of=" + h.today().isoformat() + "&min_amount=")
    assert [r.code for r in unticked.context["report"].rows] == ["ALPHA", "BETA"]  # no overdue filter


def test_settings_change_the_buckets_and_viewers_cannot(aging_world):
    client = aging_world["client"]
    response = client.post(url(aging_world, "report_settings"), {"aging_limits": "10,20", "aging_basis": "issue",
                                                           "credit_overdue_days": "30"})
    assert response.status_code == 302
    with tenant_context(aging_world["org"]):
        assert ReportSettings.objects.get(organization=aging_world["org"]).limits == [10, 20]
        assert Organization.objects.get(pk=aging_world["org"].pk).credit_overdue_days == 30
    report = client.get(url(aging_world, "aging_report")).context["report"]
    assert [b.label for b in report.buckets] == ["0–10", "11–20", "Over 20"]
    bad = client.post(url(aging_world, "report_settings"), {"aging_limits": "60,30", "aging_basis": "due",
                                                      "credit_overdue_days": "30"})
    assert bad.status_code == 200 and "increasing" in bad.content.decode()
    viewer = add_member(aging_world["org"], Role.VIEWER)
    other = Client()
    other.force_login(viewer)
    assert other.get(url(aging_world, "report_settings")).status_code == 403
    assert other.get(url(aging_world, "aging_report")).status_code == 200


def test_open_items_page_lists_each_customers_open_documents(aging_world):
    response = aging_world["client"].get(url(aging_world, "open_items_report"))
    html = response.content.decode()
    assert response.status_code == 200
    assert aging_world["i1"].number in html and aging_world["i2"].number in html and "Beta" in html
    assert [g["row"].code for g in response.context["groups"]] == ["ALPHA", "BETA"]
    alpha = response.context["groups"][0]
    assert sorted(r["item"].amount for r in alpha["items"]) == [Decimal("25.00"), Decimal("30.00"), Decimal("100.00")]
    searched = aging_world["client"].get(url(aging_world, "open_items_report") + "?q=bet")
    assert [g["row"].code for g in searched.context["groups"]] == ["BETA"]
    past = aging_world["client"].get(url(aging_world, "open_items_report") + f"?as_of={h.ago(60).isoformat()}")
    assert [g["row"].code for g in past.context["groups"]] == ["BETA"]  # Alpha's invoices came later
