"""UBL 2.1 / Peppol BIS Billing 3.0 e-invoices of invoices and credit notes, and Factur-X credit notes.

Every XML here is validated against the official OASIS UBL 2.1 XSDs (invoicing/schemas/ubl-2.1)
or the official Factur-X EN 16931 XSD, with standard, reduced, zero, exempt, reverse-charge and
intra-EU lines and a document-level discount; the totals are compared with the PDF's text
(pdftotext); what the standard requires and the document lacks is refused with the field named."""

import subprocess
from decimal import Decimal

import pytest
from facturx import get_xml_from_pdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from accounts.org_directory import organization_for_slug
from invoicing.credit_notes import credit_amount, credit_invoice_lines
from invoicing.einvoice import (
    CAC,
    CBC,
    EInvoiceError,
    SchemaError,
    check_totals,
    check_ubl_xsd,
    check_xsd,
    cii_xml,
    edoc,
    facturx_pdf,
    missing,
    ubl_xml,
)
from invoicing.models import InvoiceLine, InvoiceSettings, TaxRate
from invoicing.payment_reference import creditor_reference
from invoicing.pdf import render_credit_note_pdf, render_invoice_pdf
from invoicing.services import issue_invoice, new_draft, recompute_totals
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org

pytestmark = pytest.mark.django_db
RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
RATES = {"standard": ("20", "", ""), "reduced": ("5.5", "", ""), "zero": ("0", "Z", ""),
         "exempt": ("0", "E", "Exempt under article 261 of the CGI"),
         "reverse": ("0", "AE", "Reverse charge, article 196 of Directive 2006/112/EC"),
         "intra": ("0", "K", "Intra-community supply, article 138 of Directive 2006/112/EC"),
         "export": ("0", "G", "Export outside the EU"), "outside": ("0", "O", "Not subject to VAT")}


@pytest.fixture
def vendor(db):
    org, owner = make_org(name="Atelier Lumière", address="12 rue des Arts\n75003 Paris", country="FR",
                          tax_id="FR40303265045", endpoint_scheme="9957", endpoint_id="FR40303265045")
    with tenant_context(org, owner):
        InvoiceSettings.objects.filter(organization=org).update(
            bank_details="IBAN FR76 3000 6000 0112 3456 7890 189 · BIC AGRIFRPP")
        customer = CustomerFactory(organization=org, name="Hafen GmbH", code="HAFEN", currency="EUR",
                                   billing_address="Hafenstraße 4\nAm Kai\n20457 Hamburg", country="DE",
                                   tax_id="DE811907980", endpoint_scheme="9930", endpoint_id="DE811907980")
    return org, owner, customer


def rate(org, kind):
    percent, category, reason = RATES[kind]
    found, _ = TaxRate.objects.get_or_create(organization=org, name=kind, defaults={
        "percent": Decimal(percent), "category": category, "exemption_reason": reason})
    return found


def make_invoice(org, customer, lines, discount="0", issue=True):
    """lines: (description, quantity, unit price, rate kind, line discount %)."""
    invoice = new_draft(org, customer, discount_percent=Decimal(discount))
    for n, (description, qty, price, kind, line_discount) in enumerate(lines, start=1):
        tax = rate(org, kind)
        InvoiceLine.objects.create(organization=org, invoice=invoice, position=n, description=description,
                                   quantity=Decimal(qty), unit="h" if n == 1 else "", unit_price=Decimal(price),
                                   tax_rate=tax, discount_percent=Decimal(line_discount))
    recompute_totals(invoice)
    return issue_invoice(invoice) if issue else invoice


MIXED = [("Lighting design", "12", "95.50", "standard", "10"), ("Catalogue", "3", "33.333", "reduced", "0"),
         ("Export crate", "1", "80", "zero", "0"), ("Training (exempt)", "2", "150", "exempt", "0"),
         ("Installation", "1", "640", "reverse", "5")]


def ubl(xml: bytes):
    return etree.fromstring(xml)


def text(tree, path: str) -> str:
    return tree.find(path.replace("cbc:", f"{{{CBC}}}").replace("cac:", f"{{{CAC}}}")).text


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def test_a_mixed_invoice_validates_as_ubl_and_cii_and_its_totals_are_the_pdfs(vendor):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, MIXED, discount="5")
        xml, cii = ubl_xml(invoice), cii_xml(invoice)
        pdf = render_invoice_pdf(invoice)
    check_ubl_xsd(xml)
    check_xsd(cii)
    tree = ubl(xml)
    assert tree.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    assert text(tree, "cbc:CustomizationID").endswith("urn:fdc:peppol.eu:2017:poacc:billing:3.0")
    assert text(tree, "cbc:InvoiceTypeCode") == "380"
    total = text(tree, "cac:LegalMonetaryTotal/cbc:PayableAmount")
    assert total == f"{invoice.total:.2f}"
    assert text(tree, "cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount") == f"{invoice.discount_total:.2f}"
    assert text(tree, "cac:TaxTotal/cbc:TaxAmount") == f"{invoice.tax_total:.2f}"
    # The same figures on the PDF (pdftotext): total, tax and discount.
    printed = pdf_text(pdf)
    for amount in (invoice.total, invoice.tax_total, invoice.discount_total):
        assert f"{amount:,.2f}" in printed
    categories = {e.find(f"{{{CBC}}}ID").text: e for e in tree.iter(f"{{{CAC}}}TaxCategory")
                  if e.getparent().tag == f"{{{CAC}}}TaxSubtotal"}
    assert set(categories) == {"S", "Z", "E", "AE"}
    assert categories["AE"].find(f"{{{CBC}}}TaxExemptionReason").text.startswith("Reverse charge")
    assert categories["E"].find(f"{{{CBC}}}TaxExemptionReason").text.startswith("Exempt")
    assert {e.text for e in tree.iter(f"{{{CBC}}}Percent")} >= {"20", "5.5", "0"}
    assert text(tree, "cac:AccountingCustomerParty/cac:Party/cbc:EndpointID") == "DE811907980"
    assert tree.find(f"{{{CAC}}}AccountingCustomerParty/{{{CAC}}}Party/{{{CBC}}}EndpointID").get("schemeID") == "9930"
    assert text(tree, "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:PostalZone") == "20457"
    assert text(tree, "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:CityName") == "Hamburg"
    assert text(tree, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == "FR7630006000011234567890189"
    assert text(tree, "cac:PaymentMeans/cbc:PaymentID") == creditor_reference(invoice.number)  # as on the PDF
    assert etree.fromstring(cii).find(f".//{RAM}PaymentReference").text == creditor_reference(invoice.number)
    # CII carries the same grand total and the reverse-charge reason.
    assert etree.fromstring(cii).find(f".//{RAM}GrandTotalAmount").text == total
    assert any(e.text.startswith("Reverse charge") for e in etree.fromstring(cii).iter(f"{RAM}ExemptionReason"))
    assert check_totals(edoc(invoice)) == []


def test_the_ubl_xsd_check_fails_on_a_broken_document(vendor):
    """The validation is real: an element out of the schema's order is refused."""
    org, owner, customer = vendor
    with tenant_context(org, owner):
        xml = ubl_xml(make_invoice(org, customer, MIXED[:1]))
    tree = ubl(xml)
    tree.insert(0, tree.find(f"{{{CAC}}}LegalMonetaryTotal"))  # totals before the header
    with pytest.raises(SchemaError, match="LegalMonetaryTotal"):
        check_ubl_xsd(etree.tostring(tree))
    with pytest.raises(SchemaError, match="not a UBL"):
        check_ubl_xsd(b"<Invoice/>")


def test_credit_notes_validate_as_ubl_and_factur_x_with_the_invoice_referenced(vendor):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, MIXED, discount="5")
        lines = list(invoice.lines.all())
        note = credit_invoice_lines(invoice, {lines[0].pk: Decimal("2"), lines[4].pk: Decimal("1")},
                                    "Two hours not worked; installation cancelled", actor=owner)
        xml = ubl_xml(note)
        pdf = facturx_pdf(note)
        printed = pdf_text(render_credit_note_pdf(note))
    check_ubl_xsd(xml)
    tree = ubl(xml)
    assert tree.tag == "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"
    assert text(tree, "cbc:CreditNoteTypeCode") == "381"
    assert text(tree, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == invoice.number
    assert text(tree, "cac:LegalMonetaryTotal/cbc:PayableAmount") == f"{note.total:.2f}"
    assert {e.find(f"{{{CBC}}}ID").text for e in tree.iter(f"{{{CAC}}}ClassifiedTaxCategory")} == {"S", "AE"}
    assert len(list(tree.iter(f"{{{CAC}}}CreditNoteLine"))) == 2
    # Factur-X: TypeCode 381, the XSD passes, the totals are the PDF's.
    filename, cii = get_xml_from_pdf(pdf)
    assert filename == "factur-x.xml"
    check_xsd(cii)
    root = etree.fromstring(cii)
    assert root.find(f".//{RAM}TypeCode").text == "381"
    assert root.find(f".//{RAM}GrandTotalAmount").text == f"{note.total:.2f}"
    assert root.find(f".//{RAM}InvoiceReferencedDocument/{RAM}IssuerAssignedID").text == invoice.number
    assert f"{note.total:,.2f}" in printed and f"{note.total:,.2f}" in pdf_text(pdf)


def test_a_standalone_credit_note_by_amount_validates(vendor):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        note = credit_amount(customer, Decimal("120.00"), "Goodwill", actor=owner, tax_percent=Decimal("20"))
        xml = ubl_xml(note)
        cii = cii_xml(note)
    check_ubl_xsd(xml)
    check_xsd(cii)
    tree = ubl(xml)
    assert text(tree, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount") == "100.00"
    assert text(tree, "cac:TaxTotal/cbc:TaxAmount") == "20.00"
    assert tree.find(f"{{{CAC}}}BillingReference") is None


def test_reverse_charge_without_the_buyers_vat_id_is_refused_with_the_field_named(vendor, client):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        customer.tax_id = ""
        customer.save()
        invoice = make_invoice(org, customer, [("Installation", "1", "640", "reverse", "0")])
        expected = "Buyer's VAT id (the customer's “tax id”): required for reverse charge (category AE)."
        assert expected in missing(invoice)
        for build in (ubl_xml, cii_xml, facturx_pdf):
            with pytest.raises(EInvoiceError) as refused:
                build(invoice)
            assert expected in refused.value.missing
    client.force_login(owner)
    page = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/e-invoice/").content.decode()
    assert "required for reverse charge (category AE)" in page
    for name in ("ubl.xml", "cii.xml", "facturx.pdf"):
        refused = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/e-invoice/{name}")
        assert refused.status_code == 409
        assert "required for reverse charge" in refused.content.decode()


def test_intra_eu_and_export_lines_and_an_outside_scope_invoice_validate(vendor):
    # Out-of-scope (O) lines stand alone on their invoice (BR-O-11/12, tests/invoicing/test_einvoice_rules.py).
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, [("Lamps to Germany", "4", "210", "intra", "0"),
                                               ("Lamps to Norway", "1", "99.99", "export", "0")])
        xml, cii = ubl_xml(invoice), cii_xml(invoice)
        outside_scope = ubl_xml(make_invoice(org, customer, [("Insurance passed on", "1", "12.5", "outside", "0")]))
    check_ubl_xsd(xml)
    check_xsd(cii)
    assert text(ubl(xml), "cac:Delivery/cbc:ActualDeliveryDate") == invoice.issue_date.isoformat()
    check_ubl_xsd(outside_scope)
    outside = [e for e in ubl(outside_scope).iter(f"{{{CAC}}}ClassifiedTaxCategory")
               if e.find(f"{{{CBC}}}ID").text == "O"]
    assert outside and outside[0].find(f"{{{CBC}}}Percent") is None  # BR-O-05: no rate


def test_peppol_needs_endpoint_ids_and_factur_x_does_not(vendor):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        customer.endpoint_id = customer.endpoint_scheme = ""
        customer.save()
        invoice = make_invoice(org, customer, MIXED[:1])
        assert missing(invoice) == []
        assert missing(invoice, "ubl") == ["Buyer's e-invoice endpoint id and scheme (the customer's page)."]
        with pytest.raises(EInvoiceError):
            ubl_xml(invoice)
        check_xsd(cii_xml(invoice))


def test_an_exempt_line_without_a_reason_is_refused(vendor):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        TaxRate.objects.create(organization=org, name="exempt", percent=0, category="E")
        invoice = make_invoice(org, customer, [("Training", "1", "100", "exempt", "0")])
        assert missing(invoice) == [
            "Exemption reason for VAT category E (settings › tax rates, “exemption reason”)."]


def test_the_pages_offer_both_syntaxes_for_invoices_and_credit_notes(vendor, client):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, MIXED, discount="5")
        note = credit_amount(customer, Decimal("12.00"), "Goodwill", actor=owner, invoice=invoice,
                             tax_percent=Decimal("20"))
    client.force_login(owner)
    page = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/e-invoice/").content.decode()
    assert "ubl.xml" in page and "facturx.pdf" in page
    got = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/e-invoice/ubl.xml")
    assert got.status_code == 200 and got["Content-Type"] == "application/xml"
    check_ubl_xsd(got.content)
    base = f"/o/{org.slug}/invoices/credit-notes/{note.pk}/e-invoice/"
    assert base in client.get(f"/o/{org.slug}/invoices/credit-notes/{note.pk}/").content.decode()
    assert f"/o/{org.slug}/invoices/{invoice.pk}/e-invoice/" in client.get(
        f"/o/{org.slug}/invoices/{invoice.pk}/").content.decode()
    page = client.get(base).content.decode()
    assert "Download Factur-X PDF" in page
    ubl_got, cii_got, pdf_got = (client.get(base + name) for name in ("ubl.xml", "cii.xml", "facturx.pdf"))
    check_ubl_xsd(ubl_got.content)
    check_xsd(cii_got.content)
    assert pdf_got.content.startswith(b"%PDF")


def test_the_api_serves_the_ubl_of_invoices_and_credit_notes(vendor):
    from tests.api.helpers import Api, make_key

    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, MIXED[:2])
        note = credit_amount(customer, Decimal("12.00"), "Goodwill", actor=owner, tax_percent=Decimal("20"))
        customer.billing_address = ""
        customer.save()
        bare = make_invoice(org, customer, MIXED[:1])
    api = Api(make_key(org, owner, scope="read")[1])
    got = api.get(f"/invoices/{invoice.pk}/ubl")
    assert got.status_code == 200, got.content
    check_ubl_xsd(got.content)
    got = api.get(f"/credit-notes/{note.pk}/ubl")
    assert got.status_code == 200
    check_ubl_xsd(got.content)
    refused = api.get(f"/invoices/{bare.pk}/ubl")
    assert refused.status_code == 409
    assert "Buyer's address (the customer's billing address)." in [e["message"] for e in refused.json()["errors"]]


AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("40"), places=3),
                                AMOUNTS, st.sampled_from(sorted(RATES)),
                                st.sampled_from(["0", "0", "10", "12.5"])), min_size=1, max_size=5),
       discount=st.sampled_from(["0", "0", "3", "7.5"]))
def test_any_invoice_validates_and_keeps_the_en16931_sums(vendor, lines, discount):
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, [(f"Line {n}", str(q), str(p), kind, d)
                                               for n, (q, p, kind, d) in enumerate(lines)],
                               discount=discount, issue=False)
        if invoice.total <= 0:
            return
        invoice = issue_invoice(invoice)
        doc = edoc(invoice)
        assert check_totals(doc) == []
        if "O" in doc.categories and doc.categories != {"O"}:  # refused by rule, never written (BR-O-11/12)
            for build in (ubl_xml, cii_xml):
                with pytest.raises(EInvoiceError, match="BR-O-11"):
                    build(doc)
            return
        xml = ubl_xml(doc)
        check_ubl_xsd(xml)
        check_xsd(cii_xml(doc))
    assert text(ubl(xml), "cac:LegalMonetaryTotal/cbc:PayableAmount") == f"{invoice.total:.2f}"


@pytest.mark.parametrize(("post", "field", "message"), [
    ({"name": "RC", "percent": "0", "category": "AE"}, "exemption_reason", "Say why no VAT is due (category AE)"),
    ({"name": "Ex", "percent": "10", "category": "E", "exemption_reason": "Art. 132"}, "percent",
     "Category E carries no VAT"),
    ({"name": "Std", "percent": "0", "category": "S"}, "percent", "A standard-rated (S) tax has a rate above 0"),
    ({"name": "Std", "percent": "20", "exemption_reason": "why"}, "exemption_reason", "Only exempt"),
])
def test_the_tax_rate_form_refuses_inconsistent_categories_and_saves_nothing(vendor, client, post, field, message):
    org, owner, _customer = vendor
    client.force_login(owner)
    page = client.post(f"/o/{org.slug}/settings/tax-rates/", post)
    assert page.status_code == 200 and message in page.content.decode()
    assert page.context["form"].errors[field]
    with tenant_context(org, owner):
        assert not TaxRate.objects.filter(organization=org, name=post["name"]).exists()


def test_a_reverse_charge_rate_is_saved_from_the_form(vendor, client):
    org, owner, _customer = vendor
    client.force_login(owner)
    client.post(f"/o/{org.slug}/settings/tax-rates/",
                {"name": "Reverse charge", "percent": "0", "category": "AE", "exemption_reason": " Article 196 "})
    with tenant_context(org, owner):
        saved = TaxRate.objects.get(organization=org, name="Reverse charge")
    assert (saved.category, saved.exemption_reason) == ("AE", "Article 196")


def test_endpoint_ids_come_in_pairs_on_the_customer_form(vendor, client):
    org, owner, customer = vendor
    client.force_login(owner)
    page = client.post(f"/o/{org.slug}/customers/{customer.pk}/edit/", {
        "name": customer.name, "code": customer.code, "currency": "EUR", "payment_terms_days": "30",
        "credit_limit": "0", "language": "en", "country": "DE", "endpoint_scheme": "", "endpoint_id": "DE1"})
    assert "Choose the scheme of the endpoint id." in page.content.decode()
    page = client.post(f"/o/{org.slug}/customers/{customer.pk}/edit/", {
        "name": customer.name, "code": customer.code, "currency": "EUR", "payment_terms_days": "30",
        "credit_limit": "0", "language": "en", "country": "DE", "endpoint_scheme": "9930",
        "endpoint_id": "bad id with spaces"})
    assert "no spaces" in page.content.decode()
    with tenant_context(org, owner):
        customer.refresh_from_db()
    assert customer.endpoint_id == "DE811907980"


def test_the_customer_api_sets_endpoint_ids_in_pairs_and_a_patch_keeps_the_country(vendor):
    from tests.api.helpers import Api, make_key

    org, owner, customer = vendor
    api = Api(make_key(org, owner)[1])
    changed = api.patch(f"/customers/{customer.pk}", {"phone": "+49 40 1234"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["country"], changed.json()["endpoint_scheme"]) == ("DE", "9930")  # kept, not blanked
    refused = api.patch(f"/customers/{customer.pk}", {"endpoint_scheme": ""})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["endpoint_scheme"]
    created = api.post("/customers", {"name": "Nordlys AS", "country": "NO", "endpoint_scheme": "0192",
                                      "endpoint_id": "987654321"})
    assert created.status_code == 201 and created.json()["endpoint_id"] == "987654321"
    with tenant_context(org, owner):
        customer.refresh_from_db()
    assert (customer.country, customer.endpoint_scheme, customer.phone) == ("DE", "9930", "+49 40 1234")


def test_the_organization_settings_keep_the_endpoint_id_and_refuse_half_a_pair(vendor, client):

    org, owner, _customer = vendor
    client.force_login(owner)
    base = {"name": org.name, "slug": org.slug, "base_currency": "EUR", "country": "FR", "locale": "en_GB",
            "address": org.address, "tax_id": org.tax_id}
    page = client.post(f"/o/{org.slug}/settings/", {**base, "endpoint_scheme": "0009", "endpoint_id": ""})
    assert page.status_code == 200 and "Give the endpoint id for this scheme" in page.content.decode()
    assert organization_for_slug(org.slug).endpoint_scheme == "9957"  # unchanged
    client.post(f"/o/{org.slug}/settings/", {**base, "endpoint_scheme": "0009", "endpoint_id": "73282932000074"})
    saved = organization_for_slug(org.slug)
    assert (saved.endpoint_scheme, saved.endpoint_id) == ("0009", "73282932000074")


def test_the_tax_rate_api_gives_the_category_and_reason(vendor):
    from tests.api.helpers import Api, make_key

    org, owner, _customer = vendor
    with tenant_context(org, owner):
        rate(org, "reverse")
    rates = Api(make_key(org, owner, scope="read")[1]).get("/tax-rates").json()
    [reverse] = [r for r in rates if r["name"] == "reverse"]
    assert (reverse["category"], reverse["exemption_reason"]) == ("AE", RATES["reverse"][2])
