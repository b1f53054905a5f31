"""Factur-X e-invoices: the CII XML validates against the official EN 16931 XSD (standard and zero
rates, line and invoice discounts), the PDF is PDF/A-3 with the XML attached and the same totals
as its text, and an invoice missing what the standard requires is refused with the fields named."""

import io
from decimal import Decimal

import pytest
from facturx import get_xml_from_pdf
from lxml import etree
from pypdf import PdfReader

from invoicing.einvoice import EInvoiceError, check_xsd, cii_xml, facturx_pdf, missing
from invoicing.models import InvoiceSettings
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = pytest.mark.django_db
RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"


@pytest.fixture
def vendor(db):
    org, owner = make_org(name="Atelier Lumière", address="12 rue des Arts\n75003 Paris", country="FR",
                          tax_id="FR40303265045")
    with tenant_context(org, owner):
        InvoiceSettings.objects.filter(organization=org).update(
            bank_details="IBAN FR76 3000 6000 0112 3456 7890 189 · BIC AGRIFRPP")
        customer = CustomerFactory(organization=org, name="Hôtel du Port", code="HDP", currency="EUR",
                                   billing_address="4 quai Est\n13002 Marseille", country="FR", tax_id="FR12345678901")
    return org, owner, customer


def total_of(xml: bytes, tag: str) -> str:
    return etree.fromstring(xml).find(f".//{RAM}{tag}").text


def test_the_xml_validates_with_standard_and_zero_rates_and_discounts(vendor):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = draft(org, customer, [("Lighting design", "12", "95.50", "20"), ("Export crate", "1", "80", "0"),
                                        ("Fixtures", "3", "33.333", "20")], discount_percent=Decimal("5"))
        invoice.lines.filter(position=1).update(discount_percent=Decimal("10"))
        from invoicing.services import issue_invoice, recompute_totals

        recompute_totals(invoice)
        invoice = issue_invoice(invoice)
        xml = cii_xml(invoice)
    check_xsd(xml)  # raises on any schema error
    assert total_of(xml, "GrandTotalAmount") == f"{invoice.total:.2f}"
    assert total_of(xml, "AllowanceTotalAmount") == f"{invoice.discount_total:.2f}"
    assert total_of(xml, "TaxTotalAmount") == f"{invoice.tax_total:.2f}"
    categories = [e.text for e in etree.fromstring(xml).iter(f"{RAM}CategoryCode")]
    assert {"S", "Z"} <= set(categories)


def test_the_facturx_pdf_is_pdf_a3_with_the_xml_and_the_same_totals_as_its_text(vendor):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = issued(org, customer, [("Lighting design", "12", "95.50", "20")])
        pdf = facturx_pdf(invoice)
    filename, xml = get_xml_from_pdf(pdf)
    assert filename == "factur-x.xml"
    assert total_of(xml, "GrandTotalAmount") == "1375.20"
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "1,375.20 EUR" in text and invoice.number in text
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in metadata or 'pdfaid:part="3"' in metadata
    assert "factur-x" in metadata.lower()


def test_an_invoice_missing_what_the_standard_needs_is_refused_with_the_fields_named(db):
    org, owner = make_org(name="Bare Co")  # no address, country, tax id or IBAN
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, billing_address="")
        invoice = issued(org, customer)
        lacking = missing(invoice)
        assert lacking == ["Seller's address (organization settings).",
                           "Seller's country code (organization settings).",
                           "Seller's VAT id (organization settings, “tax id”).",
                           "Buyer's address (the customer's billing address).",
                           "Buyer's country code (the customer's page).",
                           "Payment means: an IBAN in the bank details (invoice settings) when the invoice was issued."]
        with pytest.raises(EInvoiceError) as refused:
            facturx_pdf(invoice)
        assert refused.value.missing == lacking
        assert missing(draft(org, customer)) == ["The invoice must be issued."]


def test_the_page_lists_what_is_missing_and_the_download_is_refused(vendor, client):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        customer.billing_address = ""
        customer.save()
        invoice = issued(org, customer)
    client.force_login(owner)
    page = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/e-invoice/").content.decode()
    assert "Buyer&#x27;s address (the customer&#x27;s billing address)." in page
    refused = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/e-invoice/facturx.pdf")
    assert refused.status_code == 409


def test_downloads_of_a_complete_invoice(vendor, client):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = issued(org, customer)
    client.force_login(owner)
    xml = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/e-invoice/cii.xml")
    assert xml.status_code == 200 and b"CrossIndustryInvoice" in xml.content
    pdf = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/e-invoice/facturx.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
