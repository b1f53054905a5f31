"""Where reminders meet the documents work: the invoice's PDF and customer link, and the e-mail
delivery log. Everything goes through invoicing's API for outgoing documents (invoicing.outgoing);
reminders never write invoicing's tables.

Links in e-mails need an absolute address but a background task has no request: the base is
`settings.PUBLIC_BASE_URL` (from the environment; see ledger_site/settings.py).
"""

from invoicing import outgoing
from invoicing.models_documents import DeliveryKind


def public_link(invoice) -> str:
    """The invoice's public link (created if it has none), as an absolute URL."""
    return outgoing.public_url(invoice)


def invoice_pdf(invoice) -> bytes:
    return outgoing.invoice_pdf(invoice)


def log_delivery(row) -> None:
    """Record the sent reminder in invoicing's e-mail delivery log (kind "reminder")."""
    outgoing.log_sent_email(
        row.organization_id, DeliveryKind.REMINDER, invoice_id=row.invoice_id, customer_id=row.customer_id,
        recipients=row.to_emails.split(", "), subject=row.subject, body=row.body, sent_at=row.sent_at,
        message_id=row.message_id, attempts=row.attempts, actor=row.created_by)
