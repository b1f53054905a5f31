"""django-q2 tasks of the invoicing app. Each enters its organization's tenant context itself:
a worker has no request, and row-level security shows it nothing until it does."""

from ledger_site.tenancy import tenant_context


def send_email_delivery(org_id: int, delivery_id: int) -> str:
    """Send (or retry) one logged e-mail; see invoicing.mail."""
    from invoicing.mail import deliver

    with tenant_context(org_id):
        return deliver(delivery_id)


def render_invoice_pdf(org_id: int, invoice_id: int) -> str:
    """Render and store an issued invoice's PDF ahead of its first download (optional warm-up)."""
    from invoicing.models import Invoice
    from invoicing.pdf import stored_invoice_pdf

    with tenant_context(org_id):
        invoice = Invoice.objects.select_related("organization", "customer").get(pk=invoice_id)
        return stored_invoice_pdf(invoice).sha256
