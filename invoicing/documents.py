"""Issued documents' PDFs: rendered once, stored, served from storage.

- **When issued.** Issuing queues `invoicing.tasks.render_invoice_pdf` on django-q2
  (`queue_render`, or for invoices `render_task_row`, inserted by issuing's own last statement)
  inside the issuing transaction (the ORM
  broker's queue is a table of the same database: the task exists exactly when the issue
  commits, and costs no commit of its own), so the PDF is usually stored before anyone asks.
  If the task has not run yet (or was lost), the first download renders and stores it
  (`invoicing.pdf.stored_invoice_pdf`). That happens exactly once, whoever comes first.
  Issuing a credit note queues its own PDF and, when it credits an invoice, that invoice's new
  state (credited, balance due).
- **Serving.** `current_pdf` answers from one query: the invoice (or public link) row is
  loaded with its latest stored document's state key, SHA-256 and file name. It also carries
  the bytes, unless the client sent an ETag; a matching ETag gets 304 without them. Only when
  the latest document is not the current state is it looked up by state key (or rendered).
"""

import hashlib
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery
from django.db.models.functions import JSONObject

from invoicing.models import CreditNote, Invoice, InvoiceStatus
from invoicing.models_documents import DocumentKind, StoredDocument
from ledger_site.queue import TaskRow, enqueue, task_row

RENDER_TASK = "invoicing.tasks.render_invoice_pdf"
CREDIT_NOTE_TASK = "invoicing.tasks.render_credit_note_pdf"


def _render_task(document: Invoice | CreditNote) -> tuple[str, tuple, dict]:
    task = RENDER_TASK if isinstance(document, Invoice) else CREDIT_NOTE_TASK
    return task, (document.organization_id, document.pk), {"task_name": f"{task.rsplit('.', 1)[1]}-{document.pk}",
                                                           "group": "pdf"}


def queue_render(document: Invoice | CreditNote) -> None:
    """Queue the rendering and storing of an issued document's PDF in the caller's transaction
    (for a credit note, also the new state of the invoice it credits). If it cannot be queued,
    nothing is lost: the first download renders and stores it."""
    task, args, options = _render_task(document)
    enqueue(task, *args, **options)


def render_task_row(document: Invoice | CreditNote) -> TaskRow:
    """The same task as a row, for issuing to insert with the invoice (invoicing.issuing)."""
    task, args, options = _render_task(document)
    return task_row(task, *args, **options)


# --- serving ----------------------------------------------------------------------------------

def with_latest_pdf(queryset, invoice_ref: str = "pk", content: bool = True):
    """Annotate each row with its invoice's latest stored PDF: `pdf_meta` (state key, SHA-256,
    file name) and, if `content`, `pdf_content`. Subqueries, so it is still one round trip."""
    latest = (StoredDocument.objects.filter(invoice=OuterRef(invoice_ref), kind=DocumentKind.INVOICE)
              .order_by("-created_at", "-pk"))
    fields = {"pdf_meta": Subquery(latest.values(meta=JSONObject(key="state_key", sha="sha256", name="filename"))[:1])}
    if content:
        fields["pdf_content"] = Subquery(latest.values("content")[:1])
    return queryset.annotate(**fields)


@dataclass
class ServedPdf:
    content: bytes | None  # None: the client already has these bytes (its ETag matched)
    sha256: str
    filename: str


def current_pdf(invoice: Invoice, annotated, if_none_match: str | None = None) -> ServedPdf:
    """The PDF of `invoice` as it stands now. `annotated` is the row `with_latest_pdf` loaded
    (the invoice or its public link). Drafts are rendered each time and never stored."""
    from invoicing.pdf import pdf_filename, render_invoice_pdf, settings_of, state_key, stored_invoice_pdf

    inv_settings = settings_of(invoice)
    if invoice.status == InvoiceStatus.DRAFT:
        content = render_invoice_pdf(invoice, inv_settings)
        return ServedPdf(content, hashlib.sha256(content).hexdigest(), pdf_filename(invoice))
    from invoicing.seal_check import check_invoice, check_stored

    check_invoice(invoice)  # SealBroken: the issued invoice was changed behind the product's back
    meta = annotated.pdf_meta
    if meta and meta["key"] == state_key(invoice, inv_settings):
        if if_none_match == f'"{meta["sha"]}"':
            return ServedPdf(None, meta["sha"], meta["name"])
        content = getattr(annotated, "pdf_content", None)
        if content is not None:
            check_stored(invoice.organization_id, DocumentKind.INVOICE, meta["key"], meta["name"])
            return ServedPdf(bytes(content), meta["sha"], meta["name"])
    doc = stored_invoice_pdf(invoice, inv_settings)  # an older state, or not rendered yet
    check_stored(invoice.organization_id, DocumentKind.INVOICE, doc.state_key, doc.filename)
    return ServedPdf(bytes(doc.content), doc.sha256, doc.filename)
