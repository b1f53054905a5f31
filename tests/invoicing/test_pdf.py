"""Invoice PDFs: content, pagination, watermark, reproducibility, storage, serving, paper size."""

import hashlib
import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader

from invoicing.models import InvoiceSettings
from invoicing.models_documents import StoredDocument
from invoicing.pdf import render_invoice_html, render_invoice_pdf, stored_invoice_pdf
from invoicing.services import write_off
from tests.documents_helpers import (
    documents_world,
    make_billing_customer,
    make_billing_org,
    pdf_pages_text,
    pdf_text_pypdf,
    pdf_to_pngs,
)
from tests.invoicing_helpers import draft, issued
from tests.ledger_helpers import flat_rates

doc_world = pytest.fixture(documents_world)

LINES = (("Consulting — March, senior engineer", "12.5", "95.00", "20"),
         ("Travel expenses (train, Bristol → London)", "1", "240.55", "0"),
         ("Widget XL", "3", "19.9900", "20"))


def squash(text: str) -> str:
    return " ".join(text.split())


def test_issued_pdf_shows_number_parties_every_line_totals_and_amount_due(doc_world):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES, reference="PO-7781",
                     notes="Thank you for your order.")
    pages = pdf_pages_text(render_invoice_pdf(invoice))
    assert len(pages) == 1
    text = squash(pages[0])
    assert invoice.number in text
    assert "Contoso Trading GmbH" in text and "Northwind Tools Ltd" in text
    assert "PO-7781" in text and "Thank you for your order." in text
    for description, _qty, _price, _tax in LINES:
        assert description in text
    # 12.5 × 95 = 1,187.50; 240.55; 3 × 19.99 = 59.97; tax 20% of 1,247.47 = 249.49
    for amount in ("1,187.50 EUR", "240.55 EUR", "59.97 EUR", "1,488.02 EUR", "249.49 EUR"):
        assert amount in text
    assert invoice.total == Decimal("1737.51")
    assert "Total 1,737.51 EUR" in text
    assert "Balance due 1,737.51 EUR" in text
    assert "Amount paid 0.00 EUR" in text
    assert "IBAN GB33 BUKB 2020 1555 5555 55" in text
    assert "Page 1 of 1" in text
    assert "DRAFT" not in pdf_text_pypdf(render_invoice_pdf(invoice))
    pngs = pdf_to_pngs(render_invoice_pdf(invoice), "invoice-normal")
    assert len(pngs) == 1 and pngs[0].stat().st_size > 5000


def test_a_200_line_invoice_repeats_the_table_header_on_every_page_and_numbers_pages(doc_world):
    lines = [(f"Service item {n:03d} — monthly retainer", "1", f"{n}.00", "20") for n in range(1, 201)]
    invoice = issued(doc_world.org, doc_world.customer, lines=lines)
    pdf = render_invoice_pdf(invoice)
    pages = pdf_pages_text(pdf)
    assert 5 <= len(pages) <= 7  # ~33 lines a page; a line never takes two rows (e.g. a wrapped "#")
    for number, page in enumerate(pages, start=1):
        flat = squash(page)
        assert "DESCRIPTION" in flat and "QTY" in flat and "UNIT PRICE" in flat and "AMOUNT" in flat, number
        assert f"Page {number} of {len(pages)}" in flat
    everything = squash(" ".join(pages))
    for n in range(1, 201):
        assert f"Service item {n:03d}" in everything
    assert f"Balance due {squash(format(invoice.amount_due, ','))}" in everything.replace(" EUR", "")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == len(pages)
    pngs = pdf_to_pngs(pdf, "invoice-200-lines")
    assert len(pngs) == len(pages)


def test_a_draft_renders_with_a_draft_watermark_and_is_never_stored(doc_world):
    invoice = draft(doc_world.org, doc_world.customer, lines=LINES)
    pdf = render_invoice_pdf(invoice)
    assert "DRAFT" in pdf_text_pypdf(pdf)  # the rotated watermark
    assert "Number Draft" in squash(pdf_pages_text(pdf)[0])  # in place of the number
    with pytest.raises(ValueError):
        stored_invoice_pdf(invoice)
    assert not StoredDocument.objects.filter(invoice=invoice).exists()
    pdf_to_pngs(render_invoice_pdf(invoice), "invoice-draft")


def test_the_issued_pdf_comes_from_the_snapshot_and_renders_byte_identical(doc_world):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    first = render_invoice_pdf(invoice)
    doc_world.customer.name = "Renamed Customer AG"
    doc_world.customer.billing_address = "Somewhere else"
    doc_world.customer.save()
    doc_world.org.name = "Renamed Seller"
    doc_world.org.save()
    invoice.refresh_from_db()
    again = render_invoice_pdf(invoice)
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(first).hexdigest()
    text = squash(pdf_pages_text(again)[0])
    assert "Contoso Trading GmbH" in text and "Renamed" not in text


def test_stored_once_per_state_and_a_new_state_after_a_write_off_keeps_the_old_pdf(doc_world):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    doc = stored_invoice_pdf(invoice)
    assert doc.sha256 == hashlib.sha256(bytes(doc.content)).hexdigest()
    assert doc.size == len(bytes(doc.content))
    assert stored_invoice_pdf(invoice).pk == doc.pk
    assert doc.filename == f"invoice-{invoice.number}.pdf"

    write_off(invoice, Decimal("37.51"), "Goodwill")
    invoice.refresh_from_db()
    newer = stored_invoice_pdf(invoice)
    assert newer.pk != doc.pk and newer.sha256 != doc.sha256
    text = squash(pdf_pages_text(bytes(newer.content))[0])
    assert "Written off 37.51 EUR" in text and "Balance due 1,700.00 EUR" in text
    assert StoredDocument.objects.filter(invoice=invoice).count() == 2


def test_paper_size_follows_the_settings(doc_world):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    box = PdfReader(io.BytesIO(render_invoice_pdf(invoice))).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    s = InvoiceSettings.objects.get(organization=doc_world.org)
    s.paper_size = "Letter"
    s.save()
    box = PdfReader(io.BytesIO(render_invoice_pdf(invoice))).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_discounts_credits_and_several_tax_rates_are_printed(doc_world):
    invoice = draft(doc_world.org, doc_world.customer,
                    lines=(("Design", "10", "80.00", "20"), ("Books", "4", "12.50", "5")))
    invoice.discount_percent = Decimal("10")
    invoice.save()
    from invoicing.services import issue_invoice, recompute_totals

    recompute_totals(invoice)
    invoice = issue_invoice(invoice)
    text = squash(pdf_pages_text(render_invoice_pdf(invoice))[0])
    # gross 800 + 50 = 850; 10% discount 85; net 720 + 45; tax 144 + 2.25
    assert "Subtotal 850.00 EUR" in text and "Discount (10 %) −85.00 EUR" in text
    assert re.search(r"20 ?% 720\.00 EUR 144\.00 EUR", text) and re.search(r"5 ?% 45\.00 EUR 2\.25 EUR", text)
    assert f"Total {invoice.total:,} EUR" in text


def test_a_zero_decimal_currency_prints_without_decimals(doc_world):
    from tests.factories import CustomerFactory

    yen = CustomerFactory(organization=doc_world.org, currency="JPY", name="Tanaka KK")
    flat_rates(doc_world.org, {"JPY": "0.0062"})
    invoice = issued(doc_world.org, yen, lines=(("Licence", "3", "15000", "10"),))
    text = squash(pdf_pages_text(render_invoice_pdf(invoice))[0])
    assert "Total 49,500 JPY" in text and "Balance due 49,500 JPY" in text


# --- serving ------------------------------------------------------------------------------

def test_the_pdf_url_serves_the_stored_pdf_with_its_hash_as_etag(doc_world, client):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    client.force_login(doc_world.viewer)
    response = client.get(doc_world.url("invoice_pdf", pk=invoice.pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    with doc_world.ctx():
        doc = StoredDocument.objects.get(invoice=invoice)
    assert response.content == bytes(doc.content)
    assert response["ETag"] == f'"{doc.sha256}"'
    assert response["Content-Disposition"].startswith("inline")
    again = client.get(doc_world.url("invoice_pdf", pk=invoice.pk), HTTP_IF_NONE_MATCH=f'"{doc.sha256}"')
    assert again.status_code == 304
    download = client.get(doc_world.url("invoice_pdf", pk=invoice.pk) + "?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="invoice-{invoice.number}.pdf"'
    with doc_world.ctx():
        assert StoredDocument.objects.filter(invoice=invoice).count() == 1


def test_a_draft_pdf_is_served_with_the_watermark(doc_world, client):
    invoice = draft(doc_world.org, doc_world.customer, lines=LINES)
    client.force_login(doc_world.viewer)
    response = client.get(doc_world.url("invoice_pdf", pk=invoice.pk))
    assert response.status_code == 200
    assert "DRAFT" in pdf_text_pypdf(response.content)


def test_another_organizations_invoice_pdf_is_404(doc_world, client):
    from ledger_site.tenancy import tenant_context

    other, _ = make_billing_org(name="Other Org")
    with tenant_context(other):
        theirs = issued(other, make_billing_customer(other), lines=LINES)
    client.force_login(doc_world.owner)
    assert client.get(doc_world.url("invoice_pdf", pk=theirs.pk)).status_code == 404
    assert client.post(doc_world.url("invoice_pdf", pk=theirs.pk)).status_code in (404, 405)


def test_the_pdf_html_escapes_markup_from_descriptions_and_notes(doc_world):
    invoice = issued(doc_world.org, doc_world.customer, notes='<script>alert(1)</script><style>*{color:red}</style>',
                     lines=(('<img src="file:///etc/passwd"> & <b>bold</b>', "1", "10.00", "20"),))
    html = render_invoice_html(invoice)
    assert "&lt;img src=&quot;file:///etc/passwd&quot;&gt;" in html
    assert '<img src="file:///etc/passwd">' not in html and "<script>" not in html
    text = squash(pdf_pages_text(render_invoice_pdf(invoice))[0])
    assert '<img src="file:///etc/passwd"> & <b>bold</b>' in text


def test_long_unbroken_text_wraps_inside_the_page(doc_world):
    word = "Supercalifragilistic" * 25  # 500 characters, no break opportunity
    invoice = issued(doc_world.org, doc_world.customer, lines=((word, "1", "10.00", "20"),), notes="N" * 3000)
    pdf = render_invoice_pdf(invoice)
    pdf_to_pngs(pdf, "invoice-long-words")
    import subprocess

    raw = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    text = "".join(raw.decode().split())
    assert word in text and "N" * 3000 in text  # wrapped, not cut off at the page edge
    for page in PdfReader(io.BytesIO(pdf)).pages:
        assert round(float(page.mediabox.width)) == 595
