"""{% load reminders %}{% reminder_actions invoice %}: the reminder buttons on the invoice page."""

from django import template

from accounts.models import Role
from accounts.permissions import can
from invoicing.models import InvoiceKind

register = template.Library()


@register.inclusion_tag("reminders/_invoice_actions.html", takes_context=True)
def reminder_actions(context, invoice):
    request = context.get("request")
    show = (request is not None and can(request, Role.FINANCE) and invoice.kind == InvoiceKind.INVOICE
            and invoice.is_open)
    return {"show": show, "invoice": invoice, "org": getattr(request, "org", None)}
