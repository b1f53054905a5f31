"""Where reminders meet the documents work: PDF renderer, public links, the e-mail delivery log.

Each hook uses invoicing's modules (invoicing.pdf, invoicing.public, invoicing.models_documents)
and degrades plainly if one is missing (no link text, no attachment, no log row), so a change on
either side stays a change to this one file.

Links in e-mails need an absolute address but a background task has no request: the base is
`settings.PUBLIC_BASE_URL` (from the environment; see ledger_site/settings.py).
"""

import logging

from django.conf import settings

log = logging.getLogger("reminders")


def base_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/")


def public_link(invoice) -> str | None:
    """The invoice's public link (created if it has none), as an absolute URL; None if unavailable."""
    try:
        from invoicing.public import ensure_link, link_path
    except ImportError:
        return None
    return base_url() + link_path(ensure_link(invoice))


def invoice_pdf(invoice) -> bytes | None:
    try:
        from invoicing.pdf import render_invoice_pdf
    except ImportError:
        return None
    return render_invoice_pdf(invoice)


def log_delivery(row) -> None:
    """Record the sent reminder in invoicing's e-mail delivery log (kind "reminder")."""
    try:
        from invoicing.models_documents import DeliveryKind, DeliveryStatus, EmailDelivery
    except ImportError:
        return
    EmailDelivery.objects.create(
        organization_id=row.organization_id, kind=DeliveryKind.REMINDER, invoice_id=row.invoice_id,
        customer_id=row.customer_id, recipients=row.to_emails.split(", "), subject=row.subject[:300],
        body=row.body[:10000], status=DeliveryStatus.SENT, attempts=row.attempts, message_id=row.message_id,
        sent_at=row.sent_at, created_by=row.created_by)
