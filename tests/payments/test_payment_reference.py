"""Issue 16 item 5: each invoice carries an ISO 11649 creditor reference and, in euros, an EPC QR
code; a bank line quoting the reference matches its invoice with certainty."""

import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.models import InvoiceSettings
from invoicing.payment_reference import creditor_reference, epc_payload, epc_qr_svg, grouped, iban_of, rf_valid
from invoicing.pdf import render_invoice_pdf
from ledger_site.tenancy import tenant_context
from payments.bank import suggestions_for
from tests.documents_helpers import pdf_pages_text, pdf_to_pngs
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.ledger_helpers import flat_rates
from tests.payments.bank_helpers import bank_account, import_lines
from tests.payments.helpers import pay

IBAN = "DE89 3704 0044 0532 0130 00"


def test_the_standards_own_example_and_its_check_digits():
    # ISO 11649's example: payload 539007547034 carries check digits 18.
    assert creditor_reference("539007547034") == "RF18539007547034"
    assert grouped("RF18539007547034") == "RF18 5390 0754 7034"
    assert creditor_reference("INV-2026-00179") == "RF23INV202600179"
    assert not rf_valid("RF24INV202600179") and not rf_valid("RF23INV202600178")


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/ ", min_size=1, max_size=30))
def test_every_number_gets_a_valid_reference_whose_payload_is_the_number_or_none_at_all(number):
    ref = creditor_reference(number)
    payload = "".join(c for c in number if c.isalnum())
    if not payload or len(payload) > 21:
        assert ref == ""
    else:
        assert rf_valid(ref) and ref[4:] == payload
        assert rf_valid(grouped(ref)), "printed in groups of four, it still reads back"


def test_epc_payload_follows_the_guideline_fields_and_the_qr_is_refused_where_it_cannot_apply():
    text = epc_payload(name="Demo Co", iban=IBAN, amount=Decimal("1234.5"), reference="RF18539007547034")
    assert text.split("\n") == ["BCD", "002", "1", "SCT", "", "Demo Co", "DE89370400440532013000", "EUR1234.50",
                                "", "RF18539007547034"]
    args = {"name": "Demo Co", "iban": IBAN, "amount": Decimal("10.00"), "currency": "EUR",
            "reference": "RF18539007547034"}
    assert epc_qr_svg(**args).startswith("<svg")
    assert epc_qr_svg(**{**args, "currency": "USD"}) == ""
    assert epc_qr_svg(**{**args, "iban": ""}) == ""
    assert epc_qr_svg(**{**args, "amount": Decimal("0")}) == ""
    assert epc_qr_svg(**{**args, "amount": Decimal("1000000000.00")}) == ""
    assert iban_of("Bank: Volksbank\nIBAN: de89 3704 0044 0532 0130 00\nBIC: GENODEF1") == "DE89370400440532013000"


@pytest.fixture
def billing():
    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        InvoiceSettings.objects.filter(organization=org).update(bank_details=f"Volksbank\nIBAN {IBAN}")
        yield org, CustomerFactory(organization=org, name="Acme Trading GmbH", currency="EUR")


def _zbar(pdf: bytes, name: str) -> str:
    """What a scanner reads from the first page's code, byte for byte ("" if it finds none)."""
    png = pdf_to_pngs(pdf, name, resolution=200)[0]
    out = subprocess.run([shutil.which("zbarimg"), "--quiet", "--raw", "-Sbinary", str(png)], capture_output=True)
    return out.stdout.decode("utf-8") if out.returncode == 0 else ""


@pytest.mark.django_db
def test_a_euro_invoice_pdf_prints_the_reference_and_a_qr_code_a_scanner_reads_back(billing):
    org, customer = billing
    invoice = issued(org, customer, [("Work", "1", "1234.56", None)])
    ref = creditor_reference(invoice.number)
    pdf = render_invoice_pdf(invoice)
    text = pdf_pages_text(pdf)[0]
    assert f"Payment reference: {grouped(ref)}" in " ".join(text.split())
    assert _zbar(pdf, "invoice-epc-qr") == epc_payload(name=org.name, iban=IBAN, amount=Decimal("1234.56"),
                                                       reference=ref)


@pytest.mark.django_db
def test_other_currencies_get_the_reference_but_no_qr_and_a_paid_invoice_gets_neither(billing):
    org, customer = billing
    with tenant_context(org):
        dollars = CustomerFactory(organization=org, name="Dollar Inc", currency="USD")
        flat_rates(org, {"USD": "0.9"})
    usd = issued(org, dollars, [("Work", "1", "100.00", None)])
    text = " ".join(pdf_pages_text(render_invoice_pdf(usd))[0].split())
    assert f"Payment reference: {grouped(creditor_reference(usd.number))}" in text
    assert _zbar(render_invoice_pdf(usd), "invoice-usd-no-qr") == ""
    paid = issued(org, customer, [("Work", "1", "50.00", None)])
    pay(org, customer, paid.total)
    paid.refresh_from_db()
    text = " ".join(pdf_pages_text(render_invoice_pdf(paid))[0].split())
    assert "Payment reference" not in text and _zbar(render_invoice_pdf(paid), "invoice-paid-no-qr") == ""


@pytest.mark.django_db
def test_a_bank_line_quoting_the_printed_reference_matches_its_invoice_with_certainty(billing):
    org, customer = billing
    day = date.today() - timedelta(days=5)
    invoice = issued(org, customer, [("Work", "1", "121.00", None)], issue_date=day, due_date=day + timedelta(days=30))
    issued(org, customer, [("Other", "1", "121.00", None)], issue_date=day, due_date=day + timedelta(days=30))
    account = bank_account(org)
    ref = creditor_reference(invoice.number)
    line, = import_lines(account, [("121.00", "Someone Else", "", "B-1", "", ref)])
    assert line.creditor_reference == ref
    best = suggestions_for(line)[0]
    assert (best.key, best.score, best.allocation) == (f"inv:{invoice.pk}", 100, {invoice.pk: Decimal("121.00")})
    assert f"the structured creditor reference {ref} is invoice {invoice.number}" in best.reason


@pytest.mark.django_db
def test_the_public_page_shows_the_reference_and_the_qr(billing, client):
    from invoicing.public import ensure_link, link_path

    org, customer = billing
    invoice = issued(org, customer, [("Work", "1", "99.00", None)])
    with tenant_context(org):
        path = link_path(ensure_link(invoice))
    html = client.get(path).content.decode()
    assert grouped(creditor_reference(invoice.number)) in html
    assert '<figure class="epc-qr"><svg' in html
