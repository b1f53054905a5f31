"""django-q2 tasks of the invoicing app. Each enters its organization's tenant context itself:
a worker has no request, and row-level security shows it nothing until it does."""

from ledger_site.tenancy import tenant_context


def send_email_delivery(org_id: int, delivery_id: int) -> str:
    """Send (or retry) one logged e-mail; see invoicing.mail."""
    from invoicing.mail import deliver

    with tenant_context(org_id):
        return deliver(delivery_id)


def render_invoice_pdf(org_id: int, invoice_id: int) -> str:
    """Render and store an issued invoice's PDF in its current state, ahead of its first download
    (queued on issue by invoicing.issuing.store_issued). A no-op if it is stored already."""
    from invoicing.models import Invoice
    from invoicing.pdf import stored_invoice_pdf

    with tenant_context(org_id):
        invoice = Invoice.objects.select_related("organization__invoice_settings").get(pk=invoice_id)
        return stored_invoice_pdf(invoice, invoice.organization.invoice_settings).sha256


def render_credit_note_pdf(org_id: int, note_id: int) -> str:
    """Render and store an issued credit note's PDF and, when it credits an invoice, that
    invoice's PDF in its new state (queued on issue by invoicing.documents.queue_render)."""
    from invoicing.models import CreditNote
    from invoicing.pdf import stored_credit_note_pdf, stored_invoice_pdf

    with tenant_context(org_id):
        note = CreditNote.objects.select_related("organization__invoice_settings", "invoice").get(pk=note_id)
        inv_settings = note.organization.invoice_settings
        if note.invoice is not None:
            stored_invoice_pdf(note.invoice, inv_settings)
        return stored_credit_note_pdf(note, inv_settings).sha256


def run_recurring() -> str:
    """The hourly schedule (migration 0005): bill every due period of every recurring schedule."""
    from invoicing.recurring import run_due

    result = run_due()
    return f"{len(result.runs)} runs"
