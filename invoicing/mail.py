"""E-mailing documents to customers, with a delivery log that never loses a failure.

The flow: `queue_invoice_email` (in the request's transaction) writes an EmailDelivery row,
status "queued", and after commit hands its id to django-q2 (`invoicing.tasks.send_email_delivery`).
The task enters the organization's tenant context, claims the row, attaches the stored PDF,
sends through Django's e-mail backend (EMAIL_URL), and marks the row sent — or records the
error and schedules the next attempt with backoff (a one-off django-q2 Schedule in the same
transaction as the row), up to `max_attempts`; after that the row stays "failed" and is shown
with a Retry button. Nothing is retried silently and nothing is dropped.

Reuse for statements and quotes: create an EmailDelivery with `kind="statement"` (customer,
no invoice) or `kind="reminder"` (invoice), point `document` at a StoredDocument to attach (or
leave it empty for no attachment), then call `queue_delivery(delivery)`; the same task, retry
policy and log apply. Only kind "invoice" renders its PDF itself when it is sent.

At most once: a row is claimed by the one outbox engine (ledger_site.outbox: status "sending",
attempts + 1, a lease in database time, a claim token) and committed before the SMTP conversation,
so a crash mid-send never sends it twice; such a row shows as stuck once its lease (SENDING_STALE)
has run out and can be retried by hand. The outcome is recorded only while the claim is ours.
"""

import hashlib
import logging
import mimetypes
import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.locale import format_day, in_language, reader_date_locale
from accounts.money import format_money
from invoicing.models import Invoice, InvoiceSettings, InvoiceStatus
from invoicing.models_documents import DeliveryKind, DeliveryStatus, EmailDelivery
from invoicing.services import InvoiceError, record_event
from ledger_site import mailer
from ledger_site import outbox as engine
from ledger_site.outbox import Outbox
from ledger_site.queue import enqueue
from ledger_site.tenancy import organization_of

logger = logging.getLogger(__name__)

TASK = "invoicing.tasks.send_email_delivery"
SENDING_STALE = timedelta(minutes=10)
# Claiming and backoff are the one outbox engine's (ledger_site.outbox); this is its data. At most
# once: a claimed row whose lease ran out is not claimed again by itself (it shows as stuck and a
# person retries it), and each row is claimed by id when its django-q2 task runs, whatever the time.
BOX = Outbox(table="invoicing_emaildelivery", lease=SENDING_STALE,
             backoff=(timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)),
             ready=("queued", "retrying"), retry_state="retrying", due=False, reclaim=False, batch=1)
BACKOFF = list(BOX.backoff)
MAX_RECIPIENTS = 10
PLACEHOLDER = re.compile(r"\{(\w+)\}")
PLACEHOLDERS = ("customer", "number", "amount_due", "due_date", "organization", "link")


def fill(template: str, values: dict) -> str:
    """Replace {name} with values[name]; unknown names stay as written. No format-string
    mini-language (no attribute access), so a template cannot reach into objects."""
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def invoice_values(invoice: Invoice, link: str | None = None) -> dict:
    buyer = (invoice.snapshot or {}).get("buyer") or {}
    values = {
        "customer": buyer.get("name") or invoice.customer.name,
        "number": invoice.number or "",
        "amount_due": format_money(invoice.amount_due, invoice.currency),
        "due_date": format_day(invoice.due_date, reader_date_locale() or organization_of(invoice).locale),
        "organization": ((invoice.snapshot or {}).get("seller") or {}).get("name") or invoice.organization.name,
    }
    if link is not None:
        values["link"] = link
    return values


def one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def emailed_annotation() -> Exists:
    """`emailed` for an Invoice queryset: an e-mail of it was queued or sent (not only failed).
    An issued invoice without one shows "not e-mailed" (issue 21 point 5)."""
    return Exists(EmailDelivery.objects.filter(invoice=OuterRef("pk"), kind=DeliveryKind.INVOICE)
                  .exclude(status=DeliveryStatus.FAILED))


# The model's default templates (InvoiceSettings.email_subject / email_body), marked for translation:
# an organization that kept them e-mails each customer the default in the customer's language.
DEFAULT_SUBJECT = gettext_noop("Invoice {number} from {organization}")
DEFAULT_BODY = gettext_noop("Dear {customer},\n\nPlease find attached invoice {number} for {amount_due}, "
                            "due on {due_date}.\n\nYou can also view it online: {link}\n\nKind regards,\n"
                            "{organization}")


def templates_for(inv_settings: InvoiceSettings) -> tuple[str, str]:
    """The organization's subject and body templates in the active (reader's) language: its own
    text when it wrote one, the translated default when it kept the default."""
    subject, body = inv_settings.email_subject, inv_settings.email_body
    if subject.strip() == DEFAULT_SUBJECT:
        subject = _(DEFAULT_SUBJECT)
    if body.strip().replace("\r\n", "\n") == DEFAULT_BODY:
        body = _(DEFAULT_BODY)
    return subject, body


def draft_message(invoice: Invoice) -> dict:
    """The send form's initial values: recipients from the customer's billing e-mails, subject
    and body from the organization's templates, in the customer's language (issue 17: amounts,
    dates, and the default texts). {link} is kept: it is filled in when queued."""
    from invoicing.pdf import language_of

    inv_settings = InvoiceSettings.objects.get(organization_id=invoice.organization_id)
    with in_language(language_of(invoice)):
        values = invoice_values(invoice)
        subject, body = templates_for(inv_settings)
        return {"recipients": ", ".join(invoice.customer.email_list),
                "subject": one_line(fill(subject, values)), "body": fill(body, values)}


def parse_recipients(text: str) -> list[str]:
    """Comma-, semicolon- or space-separated addresses, each validated; 1 to MAX_RECIPIENTS."""
    addresses, seen = [], set()
    for raw in re.split(r"[,;\s]+", text or ""):
        if not raw:
            continue
        try:
            validate_email(raw)
        except ValidationError as e:
            raise ValidationError(_("“%(address)s” is not a valid e-mail address.") % {"address": raw[:100]}) from e
        if raw.lower() not in seen:
            seen.add(raw.lower())
            addresses.append(raw)
    if not addresses:
        raise ValidationError(_("Enter at least one e-mail address."))
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError(_("At most %(n)s recipients.") % {"n": MAX_RECIPIENTS})
    return addresses


def queue_invoice_email(invoice: Invoice, recipients: list[str], subject: str, body: str, actor=None,
                        base_url: str = "") -> EmailDelivery:
    """Log and queue the e-mail of an issued invoice (its PDF attached, its public link in the
    text). Call inside the request's transaction: the task is queued when it commits."""
    from invoicing.public import ensure_link, link_path

    if invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceError(_("Only an issued invoice can be e-mailed."))
    from invoicing.pdf import language_of

    link = ensure_link(invoice, actor)
    with in_language(language_of(invoice)):  # {amount_due} and {due_date} as the customer reads them
        values = invoice_values(invoice, link=base_url.rstrip("/") + link_path(link))
    delivery = EmailDelivery.objects.create(
        organization_id=invoice.organization_id, kind=DeliveryKind.INVOICE, invoice=invoice,
        customer_id=invoice.customer_id, recipients=recipients, subject=one_line(fill(subject, values)),
        body=fill(body, values)[:10000], created_by=actor, max_attempts=len(BACKOFF) + 1,
    )
    queue_delivery(delivery)
    return delivery


def queue_delivery(delivery: EmailDelivery) -> None:
    """Hand a queued delivery to django-q2 once the current transaction commits."""
    org_id, pk = delivery.organization_id, delivery.pk
    transaction.on_commit(lambda: _enqueue(org_id, pk))


def _enqueue(org_id: int, delivery_id: int) -> None:
    # If it cannot be queued, the row stays "queued" and shows on the invoice page with a Retry button.
    enqueue(TASK, org_id, delivery_id, task_name=f"email-delivery-{delivery_id}", group="email")


def retry_now(delivery: EmailDelivery, actor=None) -> None:
    """A person's retry: another full round of attempts, queued after commit."""
    delivery = EmailDelivery.objects.select_for_update().get(pk=delivery.pk)
    if not can_retry(delivery):
        raise InvoiceError(_("This e-mail is %(status)s; there is nothing to retry.")
                           % {"status": delivery.get_status_display().lower()})
    delivery.status = DeliveryStatus.QUEUED
    delivery.max_attempts = delivery.attempts + len(BACKOFF) + 1
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "max_attempts", "next_attempt_at"])
    queue_delivery(delivery)


def can_retry(delivery: EmailDelivery, now=None) -> bool:
    now = now or timezone.now()
    if delivery.status in (DeliveryStatus.FAILED, DeliveryStatus.RETRYING):
        return True
    # Claimed but never finished (a worker died mid-send: its lease ran out), or queued but never picked up.
    stale_since = delivery.lease_until or delivery.next_attempt_at or (delivery.created_at + SENDING_STALE)
    return delivery.status in (DeliveryStatus.SENDING, DeliveryStatus.QUEUED) and stale_since < now


# --- the worker side --------------------------------------------------------------------

def deliver(delivery_id: int) -> str:
    """Send one delivery (the caller has entered its organization's tenant context)."""
    row = EmailDelivery.objects.filter(pk=delivery_id).values("organization_id", "status").first()
    if row is None:
        return "missing or busy"
    claimed = engine.claim(BOX, row["organization_id"], timezone.now(), ids=[delivery_id])
    if not claimed:
        status = EmailDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return "missing or busy" if status in BOX.ready else f"nothing to do: {status}"
    token = claimed[0][1]
    delivery = (EmailDelivery.objects.select_related("invoice", "invoice__organization", "invoice__customer",
                                                     "organization").get(pk=delivery_id))

    def prepare(_row_id, _token, _now):
        if delivery.kind == DeliveryKind.INVOICE and delivery.invoice.status != InvoiceStatus.ISSUED:
            _mark_failed(delivery, token, InvoiceError(_("The invoice was voided before the e-mail went out; it "
                                                         "was not sent.")), final=True)
            return None
        try:
            message = build_message(delivery)
        except Exception as error:  # noqa: BLE001 - a PDF that cannot be made is a failed attempt, shown
            logger.warning("e-mail delivery %s failed (attempt %s): %s", delivery.pk, delivery.attempts, error)
            _mark_failed(delivery, token, error)
            return None
        engine.heartbeat(BOX, delivery_id)
        return delivery, message

    def retry_later(_row_id, _token, _now, error):
        _mark_failed(delivery, token, error)
        return "failed"

    def mark_sent(_row_id, _token, _now):
        _mark_sent(delivery, token)
        return True

    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 30
    outcome = mailer.send_claimed(delivery_id, token, timezone.now(), prepare=prepare, retry_later=retry_later,
                                  mark_sent=mark_sent, connection=mailer.open_connection(timeout),
                                  what="e-mail delivery")
    return "sent" if outcome == "sent" else "failed"


def build_message(delivery: EmailDelivery):
    delivery.message_id = mailer.new_message_id()
    attachments = []
    document = _attachment(delivery)
    if document is not None:
        content = bytes(document.content)
        # A PDF, or a scheduled report's XLSX (reports.subscriptions): the type follows the file name.
        kind = mimetypes.guess_type(document.filename)[0] or "application/pdf"
        attachments.append((document.filename, content, kind))
        delivery.document = document
        delivery.pdf_sha256 = hashlib.sha256(content).hexdigest()
    return mailer.compose(subject=delivery.subject, body=delivery.body, to=delivery.recipients,
                          from_email=mailer.sender(delivery.organization.name),
                          headers={"Message-ID": delivery.message_id}, attachments=attachments,
                          html=delivery.html_body)


def _attachment(delivery: EmailDelivery):
    if delivery.kind == DeliveryKind.INVOICE:
        from invoicing.pdf import stored_invoice_pdf

        # The invoice as it stands now (amounts paid so far), rendered once and stored.
        return stored_invoice_pdf(delivery.invoice)
    return delivery.document


_FIELDS = ["status", "last_error", "next_attempt_at", "lease_until", "document", "pdf_sha256", "message_id", "sent_at"]


def _mark_sent(delivery: EmailDelivery, token: str) -> None:
    with transaction.atomic():
        if engine.lock_if_ours(EmailDelivery.objects.all(), BOX, delivery.pk, token) is None:
            return  # a person's retry took it over; that attempt records the outcome
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = timezone.now()
        delivery.next_attempt_at = delivery.lease_until = None
        delivery.save(update_fields=_FIELDS)
        if delivery.invoice_id:
            what = _("Reminder e-mailed") if delivery.kind == DeliveryKind.REMINDER else _("E-mailed")
            record_event(delivery.invoice, "emailed",
                         _("%(what)s to %(to)s") % {"what": what, "to": delivery.recipient_list},
                         actor=delivery.created_by)


def _mark_failed(delivery: EmailDelivery, token: str, error: Exception, final: bool = False) -> None:
    from ledger_site.queue import schedule_once

    with transaction.atomic():
        locked = engine.lock_if_ours(EmailDelivery.objects.all(), BOX, delivery.pk, token)
        if locked is None:
            return
        delivery.attempts = locked.attempts
        text = (str(error) if final else f"{type(error).__name__}: {error}")[:2000]
        status = engine.retry_or_fail(BOX, delivery, timezone.now(), text,
                                      max_attempts=delivery.attempts if final else delivery.max_attempts)
        if status == DeliveryStatus.RETRYING:
            schedule_once(f"email-delivery-{delivery.pk}-retry-{delivery.attempts}", TASK,
                          (delivery.organization_id, delivery.pk), delivery.next_attempt_at)
        elif delivery.invoice_id:
            record_event(delivery.invoice, "email_failed",
                         _("E-mail to %(to)s failed after %(n)s attempts: %(error)s")
                         % {"to": delivery.recipient_list, "n": delivery.attempts, "error": delivery.last_error},
                         actor=delivery.created_by)
        delivery.save(update_fields=_FIELDS)
