"""E-invoices: a Factur-X (EN 16931 profile) PDF of an issued invoice — PDF/A-3 with the UN/CEFACT
Cross Industry Invoice XML embedded — built from the issued snapshot.

Library: `factur-x` (PyPI, Akretion; the reference implementation used by Odoo and others). It
ships the official Factur-X/ZUGFeRD XSDs, checks the XML against them and embeds it with the
XMP metadata a Factur-X reader looks for. The XML itself is ours (`cii_xml`, lxml), and the base
PDF is the invoice template rendered by WeasyPrint as PDF/A-3b.

What the standard requires and the invoice may lack is checked first (`missing`); an invoice
that lacks anything gets no e-invoice and the page lists exactly what to fill in. Tax
categories: a 0 % rate is "Z" (zero rated), any other "S" (standard). Exempt and reverse-charge
categories (with their reasons and the buyer's VAT id) are not modelled on tax rates yet.
"""

import re
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree

from invoicing.models import Invoice, InvoiceSettings, InvoiceStatus
from invoicing.payment_reference import iban_of
from invoicing.pdf import (
    invoice_lines,
    invoice_stylesheet,
    logo_path,
    render_invoice_html,
    restricted_fetcher,
    static_dir,
)

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"}
COUNTRY = re.compile(r"^[A-Z]{2}$")


class EInvoiceError(ValueError):
    def __init__(self, missing: list[str]):
        super().__init__("; ".join(missing))
        self.missing = missing


def _parties(invoice: Invoice) -> tuple[dict, dict]:
    snap = invoice.snapshot or {}
    seller, buyer = dict(snap.get("seller", {})), dict(snap.get("buyer", {}))
    if not buyer.get("country"):  # issued before customers had a country: the customer's current one
        buyer["country"] = invoice.customer.country
    return seller, buyer


def missing(invoice: Invoice) -> list[str]:
    """What the invoice lacks for an EN 16931 e-invoice, each naming the field and where to set it."""
    if invoice.status != InvoiceStatus.ISSUED or not invoice.snapshot:
        return [_("The invoice must be issued.")]
    seller, buyer = _parties(invoice)
    payment = invoice.snapshot.get("payment", {})
    out = []
    if not (seller.get("address") or "").strip():
        out.append(_("Seller's address (organization settings)."))
    if not COUNTRY.match(seller.get("country") or ""):
        out.append(_("Seller's country code (organization settings)."))
    if not (seller.get("tax_id") or "").strip():
        out.append(_("Seller's VAT id (organization settings, “tax id”)."))
    if not (buyer.get("address") or "").strip():
        out.append(_("Buyer's address (the customer's billing address)."))
    if not COUNTRY.match(buyer.get("country") or ""):
        out.append(_("Buyer's country code (the customer's page)."))
    if not iban_of(payment.get("bank_details", "")):
        out.append(_("Payment means: an IBAN in the bank details (invoice settings) when the invoice was issued."))
    return out


def _el(parent, tag, text=None, **attrs):
    prefix, name = tag.split(":")
    node = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attrs)
    if text is not None:
        node.text = str(text)
    return node


def _amount(value: Decimal) -> str:
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else f"{value.normalize():f}"


def _date(parent, tag, day):
    _el(_el(parent, tag), "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _category(percent: Decimal) -> str:
    return "Z" if percent == 0 else "S"


def _address(party_node, party: dict):
    lines = [li.strip() for li in (party.get("address") or "").splitlines() if li.strip()]
    addr = _el(party_node, "ram:PostalTradeAddress")
    if lines:
        _el(addr, "ram:LineOne", lines[0][:200])
    if len(lines) > 1:
        _el(addr, "ram:LineTwo", ", ".join(lines[1:])[:200])
    _el(addr, "ram:CountryID", party.get("country") or "")


def cii_xml(invoice: Invoice) -> bytes:
    """The invoice as EN 16931 CII XML, from its issued snapshot. Raises EInvoiceError when
    something the standard requires is missing."""
    lacking = missing(invoice)
    if lacking:
        raise EInvoiceError(lacking)
    seller, buyer = _parties(invoice)
    cur = invoice.currency
    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)
    ctx = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(ctx, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", "urn:cen.eu:en16931:2017")
    doc = _el(root, "rsm:ExchangedDocument")
    _el(doc, "ram:ID", invoice.number)
    _el(doc, "ram:TypeCode", "380")
    _date(doc, "ram:IssueDateTime", invoice.issue_date)
    trade = _el(root, "rsm:SupplyChainTradeTransaction")
    lines = invoice_lines(invoice)
    for n, li in enumerate(lines, start=1):
        item = _el(trade, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", n)
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", li["description"])
        price = li["unit_price"] * (1 - li["discount_percent"] / 100)  # net of the line discount
        agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
        _el(_el(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", f"{price.normalize():f}")
        _el(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", f"{li['quantity'].normalize():f}",
            unitCode="C62")
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:CategoryCode", _category(li["tax_percent"]))
        _el(tax, "ram:RateApplicablePercent", f"{li['tax_percent'].normalize():f}")
        _el(_el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount",
            _amount(li["gross"]))
    agreement = _el(trade, "ram:ApplicableHeaderTradeAgreement")
    if invoice.reference:
        _el(agreement, "ram:BuyerReference", invoice.reference)
    for tag, party in (("ram:SellerTradeParty", seller), ("ram:BuyerTradeParty", buyer)):
        node = _el(agreement, tag)
        _el(node, "ram:Name", party.get("name") or "")
        _address(node, party)
        if party.get("tax_id"):
            _el(_el(node, "ram:SpecifiedTaxRegistration"), "ram:ID", party["tax_id"], schemeID="VA")
    _el(trade, "ram:ApplicableHeaderTradeDelivery")
    settle = _el(trade, "ram:ApplicableHeaderTradeSettlement")
    _el(settle, "ram:InvoiceCurrencyCode", cur)
    means = _el(settle, "ram:SpecifiedTradeSettlementPaymentMeans")
    _el(means, "ram:TypeCode", "58")  # SEPA credit transfer
    _el(_el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID",
        iban_of(invoice.snapshot.get("payment", {}).get("bank_details", "")))
    by_rate: dict[Decimal, list[Decimal]] = {}
    for li in lines:
        gross, net, tax_amount = by_rate.get(li["tax_percent"], [Decimal(0)] * 3)
        by_rate[li["tax_percent"]] = [gross + li["gross"], net + li["net"], tax_amount + li["tax"]]
    for percent, (_gross, net, tax_amount) in sorted(by_rate.items()):
        tax = _el(settle, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", _amount(tax_amount))
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:BasisAmount", _amount(net))
        _el(tax, "ram:CategoryCode", _category(percent))
        _el(tax, "ram:RateApplicablePercent", f"{percent.normalize():f}")
    for percent, (gross, net, _tax) in sorted(by_rate.items()):  # the invoice discount, per rate
        if gross != net:
            allowance = _el(settle, "ram:SpecifiedTradeAllowanceCharge")
            _el(_el(allowance, "ram:ChargeIndicator"), "udt:Indicator", "false")
            _el(allowance, "ram:ActualAmount", _amount(gross - net))
            _el(allowance, "ram:Reason", f"Discount {invoice.discount_percent.normalize():f} %")
            tax = _el(allowance, "ram:CategoryTradeTax")
            _el(tax, "ram:TypeCode", "VAT")
            _el(tax, "ram:CategoryCode", _category(percent))
            _el(tax, "ram:RateApplicablePercent", f"{percent.normalize():f}")
    _date(_el(settle, "ram:SpecifiedTradePaymentTerms"), "ram:DueDateDateTime", invoice.due_date)
    sums = _el(settle, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(sums, "ram:LineTotalAmount", _amount(invoice.subtotal))
    if invoice.discount_total:
        _el(sums, "ram:AllowanceTotalAmount", _amount(invoice.discount_total))
    _el(sums, "ram:TaxBasisTotalAmount", _amount(invoice.subtotal - invoice.discount_total))
    _el(sums, "ram:TaxTotalAmount", _amount(invoice.tax_total), currencyID=cur)
    _el(sums, "ram:GrandTotalAmount", _amount(invoice.total))
    _el(sums, "ram:DuePayableAmount", _amount(invoice.total))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def check_xsd(xml: bytes) -> None:
    """The official Factur-X EN 16931 XSD (shipped with factur-x); raises on the first error."""
    from facturx import xml_check_xsd

    xml_check_xsd(xml, flavor="factur-x", level="en16931")


def facturx_pdf(invoice: Invoice) -> bytes:
    """The invoice's PDF as PDF/A-3b with its CII XML embedded (factur-x.xml), checked against the XSD."""
    from facturx import generate_from_binary
    from weasyprint import HTML

    xml = cii_xml(invoice)
    check_xsd(xml)
    inv_settings = InvoiceSettings.objects.get(organization_id=invoice.organization_id)
    with translation.override(settings.LANGUAGE_CODE):
        html = render_invoice_html(invoice, inv_settings)
    fetcher = restricted_fetcher(logo_path(inv_settings))
    base = HTML(string=html, base_url=static_dir().as_uri() + "/", url_fetcher=fetcher).write_pdf(
        stylesheets=[invoice_stylesheet()], pdf_variant="pdf/a-3b")
    seller, _buyer = _parties(invoice)
    return generate_from_binary(base, xml, flavor="factur-x", level="en16931", check_xsd=False,
                                pdf_metadata={"author": seller.get("name", ""), "keywords": "Factur-X, Invoice",
                                              "title": f"{seller.get('name', '')}: Invoice {invoice.number}",
                                              "subject": f"Factur-X invoice {invoice.number}"})
