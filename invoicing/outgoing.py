"""Invoicing's small API for what other apps send to customers: PDFs and e-mails.

Statements (reports), receipts (payments) and reminders go through these functions instead of
writing invoicing's tables (StoredDocument, EmailDelivery) or calling its renderer directly:

- `render_pdf(html, logo)`: WeasyPrint with the restricted URL fetcher (invoicing.pdf);
- `branding(org)`: the organization's letterhead for a document (logo, paper, payment details);
- `store_pdf(...)`: the stored PDF of a document state, rendered once (invoicing.pdf._store_once);
- `queue_email(...)`: log an e-mail in the delivery log and queue it on commit (invoicing.mail);
- `log_sent_email(...)`: record an e-mail another outbox has already sent (reminders);
- `queue_scheduled(...)`: the outbox row of an e-mail its owner sends on its own schedule when due
  (reminders' digests and consolidated reminders): pending, claimed by the owner's run on the one
  engine (ledger_site.outbox); `queue_scheduled_each` writes one per customer in one INSERT, and
  `cancel_scheduled` gives up rows their owner did not use;
- `invoice_pdf(invoice)`, `public_url(invoice)`: an invoice's PDF and its customer link.
"""

from pathlib import Path

from django.conf import settings

from invoicing.mail import one_line, queue_delivery
from invoicing.models import InvoiceSettings
from invoicing.models_documents import DeliveryStatus, EmailDelivery, StoredDocument
from invoicing.pdf import _store_once, html_to_pdf, logo_path, render_invoice_pdf, restricted_fetcher
from invoicing.public import ensure_link, link_path

BODY_MAX = 10000


def render_pdf(html: str, logo: Path | None = None) -> bytes:
    """A PDF of `html`; the renderer fetches only the project's static files and `logo`."""
    return html_to_pdf(html, restricted_fetcher(logo))


def branding(org) -> dict:
    inv_settings = InvoiceSettings.objects.filter(organization=org).first()
    logo = logo_path(inv_settings) if inv_settings else None
    return {"org": org, "logo_url": logo.as_uri() if logo else "", "logo_path": logo,
            "payment_methods": inv_settings.payment_methods if inv_settings else "",
            "bank_details": inv_settings.bank_details if inv_settings else "",
            "paper": "letter" if inv_settings and inv_settings.paper_size == "Letter" else "A4"}


def store_pdf(org_id: int, kind: str, state_key: str, render, *, filename: str, customer=None,
              invoice=None) -> StoredDocument:
    """The stored document of (kind, state_key), `render()`ed and stored if there is none, once."""
    fields = {"filename": filename}
    if customer is not None:
        fields["customer"] = customer
    if invoice is not None:
        fields["invoice"] = invoice
    return _store_once(org_id, kind, state_key, render, **fields)


def queue_email(org_id: int, kind: str, *, recipients: list[str], subject: str, body: str, customer=None,
                invoice=None, document: StoredDocument | None = None, actor=None,
                max_attempts: int = 5, html: str = "") -> EmailDelivery:
    """Log an e-mail (its PDF `document` attached; `html`, if given, an HTML alternative of `body`) and
    send it after the current transaction commits; failures are retried by invoicing's delivery task and
    shown in the delivery log."""
    delivery = EmailDelivery.objects.create(
        organization_id=org_id, kind=kind, customer=customer, invoice=invoice, document=document,
        recipients=list(recipients), subject=one_line(subject), body=body[:BODY_MAX],
        created_by=actor if getattr(actor, "pk", None) else None, max_attempts=max_attempts,
        pdf_sha256=document.sha256 if document is not None else "", html_body=html,
    )
    queue_delivery(delivery)
    return delivery


def log_sent_email(org_id: int, kind: str, *, recipients: list[str], subject: str, body: str, sent_at,
                   message_id: str = "", attempts: int = 1, invoice_id=None, customer_id=None,
                   actor=None) -> EmailDelivery:
    """Record in the delivery log an e-mail that was sent by another outbox."""
    return EmailDelivery.objects.create(
        organization_id=org_id, kind=kind, invoice_id=invoice_id, customer_id=customer_id,
        recipients=list(recipients), subject=subject[:300], body=body[:BODY_MAX], status=DeliveryStatus.SENT,
        attempts=attempts, message_id=message_id, sent_at=sent_at, created_by=actor)


def queue_scheduled(org_id: int, kind: str, *, due_at, max_attempts: int, recipients=(), subject: str = "",
                    body: str = "", customer=None, invoice=None) -> EmailDelivery:
    """A pending outbox row sent by its owner's delivery run once `due_at` has come (not by
    invoicing's task). The message may be fixed at the first attempt: until the row has a Message-ID
    its guard state is "unfixed" and the frozen guard lets the sender write recipients, subject and
    body; from then on only the delivery progress moves, and nothing once sent."""
    return EmailDelivery.objects.create(
        organization_id=org_id, kind=kind, customer=customer, invoice=invoice, recipients=list(recipients),
        subject=subject[:300], body=body[:BODY_MAX], status=DeliveryStatus.PENDING, next_attempt_at=due_at,
        max_attempts=max_attempts)


def queue_scheduled_each(org_id: int, kind: str, customer_ids, *, due_at, max_attempts: int) -> dict[int, int]:
    """queue_scheduled for many customers in one INSERT (a scan's consolidated reminders):
    {customer id: the pending row's id}."""
    rows = EmailDelivery.objects.bulk_create([EmailDelivery(
        organization_id=org_id, kind=kind, customer_id=customer_id, recipients=[], subject="", body="",
        status=DeliveryStatus.PENDING, next_attempt_at=due_at, max_attempts=max_attempts)
        for customer_id in customer_ids])
    return {row.customer_id: row.pk for row in rows}


def cancel_scheduled(ids, result: str) -> None:
    """Give up pending rows that never went out (their owner's row was not written after all)."""
    EmailDelivery.objects.filter(pk__in=list(ids), status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, result=result[:500])


def invoice_pdf(invoice) -> bytes:
    return render_invoice_pdf(invoice)


def public_url(invoice) -> str:
    """The invoice's customer link (created if it has none), absolute: settings.PUBLIC_BASE_URL."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + link_path(ensure_link(invoice))
