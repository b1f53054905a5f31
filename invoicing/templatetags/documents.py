"""The Documents panel of the invoice page: PDF, e-mail, public link, delivery log.

    {% load documents %}{% document_actions invoice %}

(or `{% include "invoicing/_document_actions.html" %}` with `invoice` in the context, which does
the same). It computes its own context from the request, so the invoice page needs nothing else.
"""

from django import template

from accounts.models import Role
from accounts.permissions import can
from invoicing.models import InvoiceStatus

register = template.Library()

DELIVERY_BADGE = {"sent": "badge-ok", "queued": "badge-info", "sending": "badge-info", "retrying": "badge-warn",
                  "failed": "badge-danger"}


@register.inclusion_tag("invoicing/documents/actions.html", takes_context=True)
def document_actions(context, invoice):
    from invoicing import mail, public
    from invoicing.models_documents import EmailDelivery
    from invoicing.views.documents import SendInvoiceForm

    request = context["request"]
    can_act = can(request, Role.FINANCE)
    issued = invoice.status == InvoiceStatus.ISSUED
    link = public.active_link(invoice) if invoice.status != InvoiceStatus.DRAFT else None
    deliveries = list(EmailDelivery.objects.filter(organization_id=invoice.organization_id, invoice=invoice)
                      .select_related("created_by").defer("body")[:25])
    for d in deliveries:
        d.badge = DELIVERY_BADGE.get(d.status, "")
        d.retryable = mail.can_retry(d)
    return {
        "invoice": invoice, "org": invoice.organization, "request": request,
        "csrf_token": context.get("csrf_token"),
        "can_act": can_act, "is_draft": invoice.status == InvoiceStatus.DRAFT, "is_issued": issued,
        "link": link, "link_url": request.build_absolute_uri(public.link_path(link)) if link else "",
        "send_form": SendInvoiceForm(initial=mail.draft_message(invoice)) if can_act and issued else None,
        "has_billing_emails": bool(invoice.customer.email_list),
        "deliveries": deliveries,
    }
