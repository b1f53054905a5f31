"""A sample invoice PDF with the organization's current details (issue 21, onboarding): what its
customers will receive, before the first real invoice. Nothing is saved: the invoice and its
customer are built in memory, laid out by the same template, stylesheet and restricted fetcher
as real invoices (invoicing.pdf), and marked SAMPLE across the page."""

from datetime import timedelta
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from accounts.locale import in_language
from accounts.models import Customer
from accounts.models_org import today_in
from invoicing.forms import next_number_example
from invoicing.models import Invoice, InvoiceSettings, InvoiceStatus, TaxRate
from invoicing.pdf import (
    TEMPLATE,
    document_context,
    html_to_pdf,
    invoice_stylesheet,
    language_of,
    logo_path,
    restricted_fetcher,
)
from invoicing.totals import line_amounts, sum_lines

# (description, unit, quantity, unit price, line discount %)
SAMPLE_LINES = [("Consulting", "h", "12.5", "95.00", "10"), ("Travel expenses", "", "1", "120.00", "0")]


def sample_invoice(org) -> Invoice:
    settings = InvoiceSettings.objects.get(organization=org)
    rate = TaxRate.objects.filter(organization=org, archived=False).order_by("-percent").first()
    percent = rate.percent if rate else Decimal(0)
    currency = org.base_currency
    today = today_in(org)
    customer = Customer(organization=org, name=_("Sample Customer Ltd"), code="SAMPLE", currency=currency,
                        billing_address=_("1 Example Street\nSample Town"), billing_emails="ap@customer.example")
    lines = []
    for description, unit, qty, price, discount in SAMPLE_LINES:
        amounts = line_amounts(Decimal(qty), Decimal(price), Decimal(discount), Decimal(0), percent, currency)
        lines.append((percent, amounts, {
            "description": _(description), "quantity": qty, "unit": unit, "unit_price": price,
            "discount_percent": discount, "tax_percent": str(percent), "gross": str(amounts.gross),
            "net": str(amounts.net), "tax": str(amounts.tax)}))
    totals = sum_lines([(p, a) for p, a, _line in lines])
    invoice = Invoice(
        organization=org, customer=customer, currency=currency, status=InvoiceStatus.ISSUED,
        number=next_number_example(org, settings, "invoice"), issue_date=today,
        due_date=today + timedelta(days=customer.payment_terms_days or 30),
        subtotal=totals.subtotal, discount_total=totals.discount, tax_total=totals.tax, total=totals.total,
        amount_due=totals.total,
        snapshot={"seller": {"name": org.name, "address": org.address, "tax_id": org.tax_id},
                  "buyer": {"name": customer.name, "address": customer.billing_address, "tax_id": "",
                            "code": customer.code, "contact": "", "emails": customer.email_list},
                  "payment": {"methods": settings.payment_methods, "bank_details": settings.bank_details},
                  "lines": [line for _p, _a, line in lines]},
    )
    return invoice


def sample_invoice_pdf(org) -> bytes:
    settings = InvoiceSettings.objects.get(organization=org)
    invoice = sample_invoice(org)
    with in_language(language_of(invoice)):
        context = document_context(invoice, settings)
        context["watermark"] = _("SAMPLE")
        html = render_to_string(TEMPLATE, context)
    return html_to_pdf(html, restricted_fetcher(logo_path(settings)), [invoice_stylesheet()])
