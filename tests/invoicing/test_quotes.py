"""Quotes: drafting and totals, their own gapless numbers, the signed link, the customer's decision
(once, with time and IP, also from two tabs at once), conversion to an invoice (once, also when
clicked twice at once), the PDF's text, and that quotes never post to the ledger."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import JournalEntry
from invoicing.items import save_item
from invoicing.models import Invoice, TaxRate
from invoicing.models_quotes import Quote, QuoteStatus
from invoicing.quotes import (
    QuoteError,
    convert_to_invoice,
    decide,
    link_path,
    make_token,
    render_quote_pdf,
    save_quote,
    send_quote,
)
from ledger_site.tenancy import tenant_context
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org

pytestmark = pytest.mark.django_db


def make_quote(org, customer, lines=(("Kitchen refit", "1", "4200.00", "20"), ("Disposal", "2", "75.50", None)),
               **fields):
    rows = []
    for description, qty, price, tax in lines:
        rate = TaxRate.objects.get_or_create(organization=org, percent=Decimal(tax), defaults={"name": f"T{tax}"})[0] \
            if tax else None
        rows.append({"description": description, "quantity": Decimal(qty), "unit_price": Decimal(price),
                     "tax_rate": rate, "unit": ""})
    today = timezone.localdate()
    values = {"customer": customer, "issue_date": today, "valid_until": today + timedelta(days=30),
              "reference": "", "notes": ""}
    values.update(fields)
    return save_quote(org, None, values, rows)


@pytest.fixture
def seller(db):
    org, owner = make_org(name="Oak & Sons", address="3 Mill Lane")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Rosa Marin", code="ROSA", currency="EUR")
    return org, owner, customer


def test_a_quote_has_totals_by_the_invoice_rule_and_its_own_gapless_numbers(seller):
    org, owner, customer = seller
    with tenant_context(org, owner):
        first = make_quote(org, customer)
        assert (first.subtotal, first.tax_total, first.total) == (Decimal("4351.00"), Decimal("840.00"),
                                                                 Decimal("5191.00"))
        second = make_quote(org, customer)
        assert first.number is None  # drafts have no number
        numbers = [send_quote(q).number for q in (second, first)]
        year = timezone.localdate().year
        assert numbers == [f"Q-{year}-00001", f"Q-{year}-00002"]
        assert send_quote(first).number == f"Q-{year}-00002"  # sending again changes nothing
        # invoices keep their own series
        from tests.invoicing_helpers import issued

        assert issued(org, customer).number == f"INV-{year}-00001"


def test_quotes_never_post_to_the_ledger(seller):
    org, owner, customer = seller
    with tenant_context(org, owner):
        before = JournalEntry.objects.count()
        quote = send_quote(make_quote(org, customer))
        decide(quote, True, "192.0.2.7")
        invoice, _ = convert_to_invoice(quote)
        assert JournalEntry.objects.count() == before
        assert invoice.is_draft  # posts only when someone issues it


def test_bad_quotes_are_refused_and_nothing_is_saved(seller):
    org, owner, customer = seller
    today = timezone.localdate()
    with tenant_context(org, owner):
        with pytest.raises(QuoteError, match="before the quote's date"):
            make_quote(org, customer, valid_until=today - timedelta(days=1))
        with pytest.raises(QuoteError, match="1 to 500 lines"):
            make_quote(org, customer, lines=())
        assert not Quote.objects.exists()


def test_the_customer_accepts_once_and_the_time_and_ip_are_recorded(seller):
    org, owner, customer = seller
    with tenant_context(org, owner):
        quote = send_quote(make_quote(org, customer))
    client = Client(REMOTE_ADDR="198.51.100.23")
    url = link_path(quote)
    page = client.get(url)
    assert page.status_code == 200 and "Accept quote" in page.content.decode()
    response = client.post(url, {"decision": "accept"})
    assert "You accepted this quote" in response.content.decode()
    again = client.post(url, {"decision": "decline"})
    assert "answered already; nothing was changed" in again.content.decode()
    with tenant_context(org, owner):
        quote.refresh_from_db()
        assert quote.status == QuoteStatus.ACCEPTED and quote.decided_ip == "198.51.100.23"
        assert quote.decided_at is not None


def test_a_tampered_or_foreign_token_is_404_and_a_draft_has_no_page(seller):
    org, owner, customer = seller
    with tenant_context(org, owner):
        quote = send_quote(make_quote(org, customer))
        draft = make_quote(org, customer)
    token = make_token(quote)
    client = Client()
    assert client.get(f"/p/q/{token[:-2]}xx/").status_code == 404
    other, other_owner = make_org()
    forged = make_token(Quote(organization_id=other.pk, pk=quote.pk, nonce=quote.nonce))  # a real signature
    assert client.get(f"/p/q/{forged}/").status_code == 404  # RLS: not that organization's quote
    draft.nonce = "x"
    assert client.get(f"/p/q/{make_token(draft)}/").status_code == 404


def test_an_expired_quote_cannot_be_accepted(seller):
    org, owner, customer = seller
    today = timezone.localdate()
    with tenant_context(org, owner):
        quote = send_quote(make_quote(org, customer, issue_date=today - timedelta(days=40),
                                      valid_until=today - timedelta(days=10)))
        with pytest.raises(QuoteError, match="expired"):
            decide(quote, True, "192.0.2.1")
        quote.refresh_from_db()
        assert quote.status == QuoteStatus.SENT
        decide(quote, False, "192.0.2.1")  # declining an expired quote is fine
        quote.refresh_from_db()
        assert quote.status == QuoteStatus.DECLINED


def test_converting_copies_lines_and_items_keeps_the_link_and_happens_once(seller):
    org, owner, customer = seller
    with tenant_context(org, owner):
        item = save_item(org, None, {"code": "FIT", "name": "Fitting", "description": "", "unit": "h",
                                     "tax_rate": None}, {"EUR": Decimal("60")})
        quote = make_quote(org, customer)
        quote.lines.filter(position=1).update(item=item)
        quote = send_quote(quote)
        with pytest.raises(QuoteError, match="Only an accepted quote"):
            convert_to_invoice(quote)
        decide(quote, True, "192.0.2.1")
        invoice, created = convert_to_invoice(quote)
        again, created_again = convert_to_invoice(quote)
        assert created and not created_again and again.pk == invoice.pk
        assert invoice.total == quote.total and invoice.reference == quote.number
        assert [(li.description, li.item_id) for li in invoice.lines.all()] == [("Kitchen refit", item.pk),
                                                                               ("Disposal", None)]
        assert invoice.source_quote == quote
        assert "From quote" in invoice.events.get(kind="from_quote").message
        assert Invoice.objects.count() == 1


def test_the_quote_pdf_says_what_the_quote_says(seller):
    org, owner, customer = seller
    with tenant_context(org, owner):
        quote = send_quote(make_quote(org, customer, notes="Work starts within two weeks."))
        pdf = render_quote_pdf(quote)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("QUOTE", quote.number, "Oak & Sons", "Rosa Marin", "Kitchen refit", "4,200.00 EUR",
                     "5,191.00 EUR", "Valid until", "Work starts within two weeks.", "/p/q/"):
        assert expected in text, expected


def test_staff_pages_send_convert_and_serve_the_pdf(seller, client):
    org, owner, customer = seller
    client.force_login(owner)
    with tenant_context(org, owner):
        quote = make_quote(org, customer)
    base = f"/o/{org.slug}/invoices/quotes/{quote.pk}/"
    client.post(base + "send/")
    with tenant_context(org, owner):
        quote.refresh_from_db()
        assert quote.status == QuoteStatus.SENT
        decide(quote, True, "192.0.2.1")
    assert "Convert to invoice" in client.get(base).content.decode()
    first = client.post(base + "convert/")
    second = client.post(base + "convert/")
    assert first.url == second.url  # the same invoice
    pdf = client.get(base + "pdf/")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


@pytest.mark.django_db(transaction=True)
def test_two_tabs_accepting_at_once_record_one_decision_and_two_clicks_convert_once():
    org, owner = make_org(name="Race Quotes")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        quote = send_quote(make_quote(org, customer))
    url = link_path(quote)

    def accept(i):
        return Client(REMOTE_ADDR=f"192.0.2.{i + 1}").post(url, {"decision": "accept"}).content.decode()

    pages = run_at_once(2, accept)
    assert sum("answered already" in p for p in pages) == 1
    assert all("You accepted this quote" in p for p in pages)
    results = run_at_once(2, lambda i: convert_to_invoice(quote)[1], org=org)
    assert sorted(results) == [False, True]
    with tenant_context(org, owner):
        assert Invoice.objects.count() == 1
        quote.refresh_from_db()
        assert quote.invoice_id == Invoice.objects.get().pk


def test_a_quote_from_another_day_keeps_its_date(seller):
    org, owner, customer = seller
    with tenant_context(org, owner):
        quote = make_quote(org, customer, issue_date=date(2026, 1, 5), valid_until=date(2026, 2, 5))
        assert send_quote(quote).number.startswith("Q-2026-")
