"""Issue 17 item 6: documents, e-mails and the public page in the customer's language.

For German, French, Spanish and Hindi: the invoice, credit-note, statement and receipt PDFs (text
extracted with pdftotext), every reminder e-mail of the default policy, the document and statement
e-mails and the public invoice page are in that language, with amounts and dates laid out for it;
a scan finds no English left in them. An INR invoice shows the Indian grouping. Arabic and Hebrew
names pass through PDFs and e-mails intact.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from accounts.locale import document_language, in_language, organization_language
from invoicing import mail as invoice_mail
from invoicing.pdf import render_credit_note_pdf, render_invoice_pdf, state_key
from invoicing.public import ensure_link, link_path
from ledger_site.tenancy import tenant_context
from payments.receipt import render_receipt
from reminders.models import ReminderPolicy
from reminders.outbox import render_message
from reports import statements
from tests.documents_helpers import make_billing_customer, make_billing_org, pdf_pages_text
from tests.factories import make_org
from tests.invoicing_helpers import issued
from tests.ledger_helpers import flat_rates
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db

DUE = date(2027, 1, 21)
# Neutral data: no English words of its own, so the scan below sees only what the product wrote.
LINES = (("X-100 Modul", "12.5", "95.00", "20"), ("Z-7", "1", "240.55", "0"), ("Q-3", "3", "19.99", "20"))
TOTAL = Decimal("1737.51")

# What each language must show (pdftotext output with spaces squashed; U+00A0/U+202F read as spaces).
EXPECTED = {
    "de": {"invoice": ["RECHNUNG", "Rechnung an", "Offener Betrag", "Zwischensumme", "Einzelpreis",
                       "Zahlungshinweise", "Seite 1 von 1", "1.737,51 €", "21.01.2027", "Fällig bis 21.01.2027"],
           "credit": ["GUTSCHRIFT", "Gutschrift für"],
           "statement": ["Kontoauszug", "Saldovortrag", "Schlusssaldo", "Rechnung", "Zahlung"],
           "receipt": ["QUITTUNG", "Erhalten von", "Erhaltener Betrag", "Vielen Dank für Ihre Zahlung"],
           "reminder": ["Guten Tag", "Mit freundlichen Grüßen", "ist am 21.01.2027 fällig", "1.737,51 €"],
           "email": ["Rechnung", "Guten Tag", "fällig am 21.01.2027", "1.737,51 €"],
           "statement_email": ["Kontoauszug von", "Guten Tag", "Der Saldo beträgt"],
           "page": ["Rechnung INV", "Offener Restbetrag", "1.737,51 €", "PDF herunterladen"]},
    "fr": {"invoice": ["FACTURE", "Facturé à", "Solde à payer", "Sous-total", "Prix unitaire",
                       "Instructions de paiement", "Page 1 sur 1", "1 737,51 €", "21 janv. 2027",
                       "À régler avant le 21 janv. 2027"],
           "credit": ["AVOIR", "Avoir au profit de"],
           "statement": ["Relevé de compte", "Solde reporté", "Solde de clôture", "Facture", "Paiement"],
           "receipt": ["REÇU", "Reçu de", "Montant reçu", "Merci pour votre paiement"],
           "reminder": ["Bonjour", "Cordialement", "est due le 21 janv. 2027", "1 737,51 €"],
           "email": ["Facture", "Bonjour", "à régler avant le 21 janv. 2027", "1 737,51 €"],
           "statement_email": ["Relevé de compte de", "Bonjour", "Le solde est de"],
           "page": ["Facture INV", "Solde à payer", "1 737,51 €", "Télécharger le PDF"]},
    "es": {"invoice": ["FACTURA", "Facturar a", "Saldo pendiente", "Subtotal", "Precio unitario",
                       "Instrucciones de pago", "Página 1 de 1", "1.737,51 €", "21 ene 2027", "Vence el 21 ene 2027"],
           "credit": ["NOTA DE CRÉDITO", "Abono a"],
           "statement": ["Extracto de cuenta", "Saldo anterior", "Saldo final", "Factura", "Pago"],
           "receipt": ["RECIBO", "Recibido de", "Importe recibido", "Gracias por su pago"],
           "reminder": ["Estimado/a", "Atentamente", "vence el 21 ene 2027", "1.737,51 €"],
           "email": ["Factura", "Estimado/a", "con vencimiento el 21 ene 2027", "1.737,51 €"],
           "statement_email": ["Extracto de cuenta de", "Estimado/a", "El saldo es de"],
           "page": ["Factura INV", "Saldo pendiente", "1.737,51 €", "Descargar PDF"]},
    # pdftotext moves Devanagari's pre-base vowel sign (ि) and repha when it extracts text ("तिथि" comes
    # out "ति थि"), so the Hindi PDF expectations are words without them; e-mails and pages are exact.
    "hi": {"invoice": ["चालान", "कर पहचान संख्या", "ग्राहक संख्या", "उप-योग", "€1,737.51", "21 जन॰ 2027",
                       "पृष्ठ 1 / 1"],
           "credit": ["नोट", "कुल जमा", "कर पहचान संख्या", "पृष्ठ 1 / 1"],
           "statement": ["खाता", "आगे लाई गई शेष", "पृष्ठ 1 / 1"],
           "receipt": ["रसीद", "कर पहचान संख्या", "धन्यवाद"],
           "reminder": ["प्रिय", "सादर", "21 जन॰ 2027 को देय है", "€1,737.51"],
           "email": ["चालान", "प्रिय", "देय तिथि 21 जन॰ 2027", "€1,737.51"],
           "statement_email": ["खाता विवरण", "प्रिय", "शेष राशि"],
           "page": ["चालान", "बकाया राशि", "€1,737.51", "PDF डाउनलोड करें"]},
}
LANGUAGES = sorted(EXPECTED)

# English the customer-facing parts could leak (words and phrases of the English templates). A
# language whose own word is spelled the same leaves it out below (fr/es "Total", fr "Document" …).
ENGLISH = ["Invoice", "INVOICE", "Bill to", "Amount", "Balance", "Subtotal", "Tax", "Page", "Due", "due",
           "Statement", "Payment", "Description", "Unit price", "Qty", "Dear", "Kind regards", "Please",
           "Reminder", "overdue", "Thank you", "Received from", "RECEIPT", "Credit", "Date", "Number",
           "Customer", "Paid", "Issue date", "Reference", "Charges", "Closing", "Days", "payment", "invoice",
           "attached", "You can", "view it", "is due", "was due", "friendly", "of account", "Printed on",
           "Download", "How to pay", "Accepted methods", "Applied", "Credits", "brought forward", "the", "and",
           "your", "with", "from", "has been"]
SAME_WORD = {"fr": {"Total", "Date", "Description", "Page", "Document", "due"}, "es": {"Total", "Subtotal"},
             "de": set(), "hi": set()}


def squash(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def english_left(text: str, language: str) -> list[str]:
    return [w for w in ENGLISH if w not in SAME_WORD[language] and re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])",
                                                                             text)]


def _org_and_customer(language, **customer_fields):
    org, owner = make_billing_org(name="Nordwind GmbH", address="Hafenweg 12\n28195 Bremen", tax_id="DE 123 456 789")
    with tenant_context(org):
        from invoicing.models import InvoiceSettings

        s = InvoiceSettings.objects.get(organization=org)
        s.bank_details, s.payment_methods = "IBAN DE89 3704 0044 0532 0130 00", "SEPA"
        s.save()
        fields = {"name": "Kunde X-1", "billing_address": "Rue 5\n75001", "contact_person": "J. B.",
                  "language": language, **customer_fields}
        customer = make_billing_customer(org, **fields)
    return org, owner, customer


@pytest.fixture(params=LANGUAGES)
def invoice_in_language(request):
    language = request.param
    org, owner, customer = _org_and_customer(language)
    with tenant_context(org):
        invoice = issued(org, customer, lines=LINES, issue_date=h.ago(3), due_date=DUE)
    return language, org, owner, customer, invoice


def _expect(texts: str, language: str, part: str):
    text = squash(texts)
    for expected in EXPECTED[language][part]:  # labels may be upper-cased by the stylesheet
        assert squash(expected).casefold() in text.casefold(), (language, part, expected, text[:2000])
    assert english_left(text, language) == [], (language, part, english_left(text, language), text[:2000])


def test_the_invoice_pdf_is_in_the_customers_language_with_its_amounts_and_dates(invoice_in_language):
    language, org, _owner, _customer, invoice = invoice_in_language
    with tenant_context(org):
        assert invoice.total == TOTAL
        text = "\n".join(pdf_pages_text(render_invoice_pdf(invoice)))
    _expect(text, language, "invoice")


def test_the_credit_note_pdf_is_in_the_customers_language(invoice_in_language):
    language, org, _owner, _customer, invoice = invoice_in_language
    with tenant_context(org):
        from invoicing.credit_notes import credit_amount

        note = credit_amount(invoice.customer, Decimal("100.00"), "X-100", invoice=invoice, issue_date=h.ago(1))
        text = "\n".join(pdf_pages_text(render_credit_note_pdf(note)))
    _expect(text, language, "credit")


def test_the_statement_pdf_and_its_email_are_in_the_customers_language(invoice_in_language):
    language, org, _owner, customer, _invoice = invoice_in_language
    with tenant_context(org):
        payment = h.pay(org, customer, "500.00", h.ago(1))
        for style in (statements.BALANCE_FORWARD, statements.OPEN_ITEM):
            st = statements.build(customer, style, h.ago(30), h.ago(0))
            text = "\n".join(pdf_pages_text(statements.render_pdf(st)))
            if style == statements.BALANCE_FORWARD:
                _expect(text, language, "statement")
            else:
                assert english_left(squash(text), language) == [], english_left(squash(text), language)
        message = statements.default_message(st)
    _expect(message["subject"] + "\n" + message["body"], language, "statement_email")
    assert payment.amount == Decimal("500.00")


def test_the_receipt_pdf_is_in_the_customers_language(invoice_in_language):
    language, org, _owner, customer, invoice = invoice_in_language
    with tenant_context(org):
        payment = h.pay(org, customer, "500.00", h.ago(1), {invoice: "500.00"})
        text = "\n".join(pdf_pages_text(render_receipt(payment)))
    _expect(text, language, "receipt")


def test_every_reminder_email_of_the_default_policy_is_in_the_customers_language(invoice_in_language):
    language, org, _owner, _customer, invoice = invoice_in_language
    with tenant_context(org):
        policy = ReminderPolicy.objects.get(organization=org, is_default=True)
        steps = list(policy.steps.all())
        assert len(steps) == 5
        first = None
        for step in steps:
            subject, body = render_message(invoice, step, DUE + timedelta(days=step.offset_days))
            assert invoice.number in subject + body
            assert english_left(squash(subject + "\n" + body), language) == [], (step.offset_days, subject, body)
            if step.offset_days == -3:
                first = subject + "\n" + body
    _expect(first, language, "reminder")


def test_the_document_email_is_in_the_customers_language(invoice_in_language):
    language, org, owner, _customer, invoice = invoice_in_language
    with tenant_context(org):
        draft = invoice_mail.draft_message(invoice)
        delivery = invoice_mail.queue_invoice_email(invoice, ["ap@kunde.example"], draft["subject"], draft["body"],
                                                    actor=owner, base_url="https://ledgerline.example")
    assert invoice.number in delivery.subject and "https://ledgerline.example/p/" in delivery.body
    _expect(delivery.subject + "\n" + delivery.body, language, "email")


def test_the_public_invoice_page_is_in_the_customers_language(invoice_in_language):
    language, org, owner, _customer, invoice = invoice_in_language
    with tenant_context(org):
        link = ensure_link(invoice, owner)
    response = Client().get(link_path(link))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}"' in html
    main = html[html.index("<main"):html.index("</main>")]
    text = re.sub(r"<[^>]+>", " ", main)
    _expect(text, language, "page")


def test_an_english_customer_keeps_the_house_layout_and_its_stored_pdf_key():
    org, _owner, customer = _org_and_customer("en")
    with tenant_context(org):
        invoice = issued(org, customer, lines=LINES, issue_date=h.ago(3), due_date=DUE)
        text = squash("\n".join(pdf_pages_text(render_invoice_pdf(invoice))))
        english_key = state_key(invoice, org.invoice_settings)
        assert "INVOICE" in text and "Balance due 1,737.51 EUR" in text
        # The customer switches to French: a new state (a new stored PDF), in French.
        customer.language = "fr"
        customer.save(update_fields=["language"])
        invoice.refresh_from_db()
        assert state_key(invoice, org.invoice_settings) != english_key
        assert "FACTURE" in squash("\n".join(pdf_pages_text(render_invoice_pdf(invoice))))


def test_an_untranslated_language_falls_back_to_the_organizations_default():
    org, _owner, customer = _org_and_customer("it")
    with tenant_context(org):
        assert document_language(customer) == "en"
        org.locale = "de_DE"
        org.save(update_fields=["locale"])
        assert organization_language(org) == "de" and document_language(customer, org) == "de"
        invoice = issued(org, customer, lines=LINES, issue_date=h.ago(3), due_date=DUE)
        assert "RECHNUNG" in squash("\n".join(pdf_pages_text(render_invoice_pdf(invoice))))


@pytest.mark.parametrize("language", ["hi", "en-in"])
def test_an_inr_invoice_shows_the_indian_grouping(language):
    org, _owner, customer = _org_and_customer(language, currency="INR")
    with tenant_context(org):
        flat_rates(org, {"INR": "0.011"})  # an INR invoice posts with its rate (issue 17)
        invoice = issued(org, customer, lines=(("X-1", "1", "123456.00", None),), issue_date=h.ago(3), due_date=DUE)
        text = squash("\n".join(pdf_pages_text(render_invoice_pdf(invoice))))
        subject, body = render_message(invoice, ReminderPolicy.objects.get(organization=org, is_default=True)
                                       .steps.get(offset_days=7), DUE + timedelta(days=7))
    assert "₹1,23,456.00" in text, text
    assert "₹1,23,456.00" in body
    assert ("INVOICE" in text) == (language == "en-in") and ("चालान" in text) == (language == "hi")


@pytest.mark.parametrize("name", ["شركة الأمل للتجارة", "חברת אופק בע״מ"])
def test_arabic_and_hebrew_customer_names_survive_pdf_and_email(name, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    org, _owner, customer = _org_and_customer("fr", name=name, billing_emails="ap@example.org")
    with tenant_context(org):
        invoice = issued(org, customer, lines=LINES, issue_date=h.ago(3), due_date=DUE)
        pdf = render_invoice_pdf(invoice)
        text = "\n".join(pdf_pages_text(pdf))
        step = ReminderPolicy.objects.get(organization=org, is_default=True).steps.get(offset_days=-3)
        subject, body = render_message(invoice, step, DUE - timedelta(days=3))
    assert pdf.startswith(b"%PDF") and "FACTURE" in text
    # pdftotext writes the lam-alef ligature's letters in visual order ("الأمل" → "األمل"): the words
    # without it come out as they are, between right-to-left embedding marks
    for word in name.split():
        assert word in text or "لأ" in word, (word, text)
    assert name in body
    mail.EmailMessage(subject, body, to=["ap@example.org"]).send()
    raw = mail.outbox[-1].message().as_bytes()
    from email import message_from_bytes, policy

    parsed = message_from_bytes(raw, policy=policy.default)
    assert name in parsed.get_body().get_content()


def test_a_french_customer_of_a_german_user_gets_french_documents(client):
    """The reader's language wins over the interface language of whoever renders the document."""
    org, owner, customer = _org_and_customer("fr")
    owner.language = "de"
    owner.save(update_fields=["language"])
    client.force_login(owner)
    with tenant_context(org):
        invoice = issued(org, customer, lines=LINES, issue_date=h.ago(3), due_date=DUE)
    page = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/")
    assert page.status_code == 200 and "Abmelden" in page.content.decode()
    pdf = client.get(f"/o/{org.slug}/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200
    text = squash("\n".join(pdf_pages_text(b"".join(pdf.streaming_content) if pdf.streaming else pdf.content)))
    assert "FACTURE" in text and "1 737,51 €" in text and "Seite" not in text


def test_in_language_restores_the_interface_afterwards():
    from django.utils import translation

    from accounts.money import format_money

    org, _owner = make_org()
    with tenant_context(org), translation.override("en"):
        with in_language("de"):
            assert format_money(Decimal("1234.5"), "EUR") == "1.234,50\u00a0€"
        assert format_money(Decimal("1234.5"), "EUR") == "1,234.50 EUR"
