"""The printable PDF receipt of a payment.

Rendered from an HTML template with WeasyPrint through the invoice renderer's restricted URL
fetcher (invoicing.outgoing.render_pdf): nothing outside the project's static files is fetched.
The receipt shows what the payment is applied to now (live allocations), what is unapplied or
refunded, and a REVERSED watermark once the payment bounced.
"""

from django.db.models import Q
from django.template.loader import render_to_string

from accounts.locale import document_language, in_language
from accounts.models_org import today_in
from accounts.money import format_money
from invoicing import outgoing
from payments.models import Allocation, Payment

TEMPLATE = "payments/receipt_pdf.html"


def receipt_number(payment: Payment) -> str:
    return f"R-{payment.pk:06d}"


def receipt_context(payment: Payment) -> dict:
    cur = payment.currency
    live = (Allocation.objects.filter(payment=payment, amount__gt=0)
            .filter(Q(reversed_by__isnull=True)).select_related("invoice").order_by("effective_date", "pk"))
    org, customer = payment.organization, payment.customer
    return {
        "payment": payment, "number": receipt_number(payment), "org": org, "customer": customer,
        "amount": format_money(payment.amount, cur),
        "applied": [{"invoice": a.invoice.number, "issue_date": a.invoice.issue_date, "date": a.effective_date,
                     "amount": format_money(a.amount, cur)} for a in live],
        "allocated": format_money(payment.amount_allocated, cur),
        "refunded": format_money(payment.amount_refunded, cur) if payment.amount_refunded else "",
        "unapplied": format_money(payment.unapplied, cur),
        "reversed": payment.reversed_at is not None,
        "printed": today_in(),
    }


def render_receipt_html(payment: Payment) -> str:
    # In the customer's language (issue 17): texts, amounts and dates.
    with in_language(document_language(payment.customer, payment.organization)):
        return render_to_string(TEMPLATE, receipt_context(payment))


def render_receipt(payment: Payment) -> bytes:
    return outgoing.render_pdf(render_receipt_html(payment))
