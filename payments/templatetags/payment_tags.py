"""Display helpers for the payments pages, and the "apply unapplied credit" offer that the
invoice pages can show:

    {% load payment_tags %}{% unapplied_credit_offer invoice %}

renders nothing unless the invoice is open and its customer has unapplied credit (payments or
credit notes); otherwise a card with the amount and one button (finance staff and owners) that
applies it, oldest first, up to the amount due.
"""

from decimal import Decimal, InvalidOperation

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.ledger import new_idempotency_key
from accounts.models import Role
from accounts.money import money_filter, quantum
from accounts.permissions import can
from invoicing.templatetags.invoice_tags import STATUS

register = template.Library()

INVOICE_STATUS = STATUS  # an invoice's status labels and badges: invoicing's
PAYMENT_STATUS = {
    "applied": (_("Applied"), "badge-ok"),
    "partly_applied": (_("Partly applied"), "badge-info"),
    "unapplied": (_("Unapplied"), "badge-warn"),
    "reversed": (_("Reversed"), "badge-danger"),
}


register.filter("money", money_filter)  # accounts.money: the one money filter


@register.filter
def plain_amount(amount, currency):
    """An amount for an input: 100.000 → "100.00" in EUR; blank for zero or nothing."""
    if not amount:
        return ""
    try:
        return str(Decimal(amount).quantize(quantum(currency)))
    except (InvalidOperation, TypeError, ValueError):
        return amount


@register.simple_tag
def invoice_status(status: str):
    label, css = INVOICE_STATUS.get(status, (status, ""))
    return format_html('<span class="badge {}" data-status="{}">{}</span>', css, status, label)


@register.simple_tag
def payment_status(payment):
    from payments.views.payments import status_of

    status = status_of(payment)
    label, css = PAYMENT_STATUS[status]
    return format_html('<span class="badge {}" data-status="{}">{}</span>', css, status, label)


@register.simple_tag(takes_context=True)
def entry_link(context, entry):
    """#seq of a journal entry, linked to its page in the ledger (accounts' journal_entry)."""
    if entry is None:
        return "—"
    org = context.get("org")
    if org is None:  # a page outside an organization (none renders this tag today)
        return format_html('<span class="mono">#{}</span>', entry.seq)
    url = reverse("journal_entry", kwargs={"org_slug": org.slug, "pk": entry.pk})
    return format_html('<a class="mono" href="{}">#{}</a>', url, entry.seq)


@register.inclusion_tag("payments/_credit_offer.html", takes_context=True)
def unapplied_credit_offer(context, invoice, next_url=None):
    from payments.services import customer_unapplied_credit

    request = context.get("request")
    credit = Decimal(0)
    if invoice is not None and invoice.is_open:
        credit = customer_unapplied_credit(invoice.customer)
    return {
        "invoice": invoice, "credit": credit, "applicable": min(credit, invoice.amount_due) if credit else 0,
        "org": context.get("org"), "csrf_token": context.get("csrf_token"),
        "can_act": request is not None and can(request, Role.FINANCE),
        "next_url": next_url or (request.get_full_path() if request else ""), "key": new_idempotency_key(),
    }
