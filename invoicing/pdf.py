"""Invoice PDFs: HTML template → WeasyPrint, with a restricted URL fetcher, stored once per state.

Reproducible: an issued invoice is rendered from its issued snapshot (seller, buyer, lines,
payment instructions) and its frozen totals; only the amounts paid / credited / written off and
the status change later. `state_key()` hashes every input of the rendering, so the same state is
rendered once, stored (invoicing.models_documents.StoredDocument) and served from storage; a
payment makes a new state and a new stored PDF, and the earlier ones (which may have been
e-mailed) are kept. Drafts are never stored: they render on the fly with a DRAFT watermark.
Rendering is queued when a document is issued and serving reads from storage: invoicing.documents.

The renderer fetches nothing the template does not own (`RestrictedFetcher`): files under the
project's static/ directory, the organization's own logo file in MEDIA_ROOT, and small data:
URLs. file:///etc/passwd, http(s)://, ftp:// and anything else are refused.
"""

import functools
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from accounts.locale import document_language, in_language, plain
from accounts.money import format_money, quantum
from invoicing.models import CreditNote, Invoice, InvoiceSettings, InvoiceStatus
from invoicing.models_documents import DocumentKind, StoredDocument
from invoicing.payment_reference import creditor_reference, epc_qr_svg, grouped, iban_of
from invoicing.totals import LineAmounts, sum_lines

logger = logging.getLogger(__name__)

# Bump when the template or this context changes what an issued invoice looks like: states
# rendered before keep their stored PDF, new requests render (and store) the new layout.
TEMPLATE_VERSION = "1"
TEMPLATE = "invoicing/pdf/invoice.html"
STYLESHEET = "css/invoice_pdf.css"  # under static/; the template keeps only its @page rule
MAX_DATA_URL = 256 * 1024  # bytes of a data: URL the renderer accepts


def static_dir() -> Path:
    return (Path(settings.BASE_DIR) / "static").resolve()


class FetchRefused(ValueError):
    """The template asked for something the renderer may not fetch."""


@functools.cache
def _fetcher_class():
    from weasyprint import URLFetcher
    from weasyprint.urls import URLFetcherResponse

    class RestrictedFetcher(URLFetcher):
        """Only opens what the invoice template owns.

        Allowed: `data:` URLs up to MAX_DATA_URL; `file://` paths that resolve (symlinks and `..`
        followed) inside the project's static/ directory, or to exactly the given logo file.
        Everything else raises FetchRefused; WeasyPrint logs it and leaves the resource out."""

        def __init__(self, logo_path: Path | None = None):
            super().__init__(timeout=1, allowed_protocols=("file", "data"), allow_redirects=False)
            self.logo_path = logo_path.resolve() if logo_path else None
            self.static = static_dir()

        def fetch(self, url, headers=None):
            check_url(url, self.static, self.logo_path)
            if url.lower().startswith("data:"):
                return super().fetch(url, headers)
            path = file_url_path(url)
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": _content_type(path)})

    return RestrictedFetcher


def restricted_fetcher(logo_path: Path | None = None):
    """A WeasyPrint URL fetcher limited to static/, this logo file and small data: URLs."""
    return _fetcher_class()(logo_path)


def file_url_path(url: str) -> Path:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise FetchRefused(f"Refused to fetch {url[:80]}: remote file host")
    return Path(unquote(parts.path)).resolve()


def check_url(url: str, static: Path, logo_path: Path | None) -> None:
    """Raise FetchRefused unless the renderer may open `url`."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "data":
        if len(url) > MAX_DATA_URL:
            raise FetchRefused("Refused a data: URL larger than the limit")
        return
    if scheme != "file":
        raise FetchRefused(f"Refused to fetch {url[:80]}: only the template's own files are allowed")
    path = file_url_path(url)
    if path.is_relative_to(static) and path.is_file():
        return
    if logo_path is not None and path == logo_path and path.is_file():
        return
    raise FetchRefused(f"Refused to fetch {url[:80]}: not a file the template owns")


def _content_type(path: Path) -> str:
    return {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".css": "text/css",
            ".svg": "image/svg+xml"}.get(path.suffix.lower(), "application/octet-stream")


# --- what the template shows ----------------------------------------------------------------

@dataclass
class Party:
    name: str
    address: str = ""
    tax_id: str = ""
    code: str = ""
    contact: str = ""
    emails: str = ""


def _d(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _unit_price(price: Decimal, currency: str) -> str:
    """Unit prices may have more decimals than the currency (4): shown in full only then."""
    if price == price.quantize(quantum(currency)):
        return format_money(price, currency)
    return f"{price.normalize():,f} {currency}"


def invoice_lines(invoice: Invoice) -> list[dict]:
    """The lines as printed: from the snapshot once issued, from the rows while a draft."""
    if invoice.snapshot and invoice.status != InvoiceStatus.DRAFT:
        return [{"description": li["description"], "quantity": _d(li["quantity"]), "unit": li.get("unit", ""),
                 "unit_price": _d(li["unit_price"]), "discount_percent": _d(li.get("discount_percent", "0")),
                 "tax_percent": _d(li.get("tax_percent", "0")), "gross": _d(li["gross"]), "net": _d(li["net"]),
                 "tax": _d(li["tax"])} for li in invoice.snapshot["lines"]]
    return [{"description": li.description, "quantity": li.quantity, "unit": li.unit, "unit_price": li.unit_price,
             "discount_percent": li.discount_percent, "tax_percent": li.tax_percent, "gross": li.gross_amount,
             "net": li.net_amount, "tax": li.tax_amount} for li in invoice.lines.all()]


def _parties(invoice: Invoice, inv_settings: InvoiceSettings):
    snap = invoice.snapshot if invoice.status != InvoiceStatus.DRAFT else None
    if snap:
        s, b, p = snap["seller"], snap["buyer"], snap.get("payment", {})
        seller = Party(s.get("name", ""), s.get("address", ""), s.get("tax_id", ""))
        buyer = Party(b.get("name", ""), b.get("address", ""), b.get("tax_id", ""), b.get("code", ""),
                      b.get("contact", ""), ", ".join(b.get("emails", [])))
        return seller, buyer, p.get("methods", ""), p.get("bank_details", "")
    org, c = invoice.organization, invoice.customer
    return (Party(org.name, org.address, org.tax_id),
            Party(c.name, c.billing_address, c.tax_id, c.code, c.contact_person, ", ".join(c.email_list)),
            inv_settings.payment_methods, inv_settings.bank_details)


def logo_path(inv_settings: InvoiceSettings) -> Path | None:
    if not inv_settings.logo:
        return None
    try:
        path = Path(inv_settings.logo.path).resolve()
    except (ValueError, NotImplementedError):
        return None
    media = Path(settings.MEDIA_ROOT).resolve()
    return path if path.is_relative_to(media) and path.is_file() else None


def document_context(invoice: Invoice, inv_settings: InvoiceSettings) -> dict:
    cur = invoice.currency
    lines = invoice_lines(invoice)
    summary = sum_lines([(li["tax_percent"], LineAmounts(li["gross"], li["net"], li["tax"]))
                         for li in lines]).tax_summary
    seller, buyer, methods, bank = _parties(invoice, inv_settings)
    logo = logo_path(inv_settings)

    def money(x):
        return format_money(x, cur)

    watermark = {InvoiceStatus.DRAFT: _("DRAFT"), InvoiceStatus.VOID: _("VOID")}.get(invoice.status, "")
    return {
        "invoice": invoice, "number": invoice.number or "", "seller": seller, "buyer": buyer,
        "paper": "letter" if inv_settings.paper_size == "Letter" else "A4",
        "logo_url": logo.as_uri() if logo else "",
        "watermark": watermark,
        "lines": [{"n": n, "description": li["description"], "quantity": plain(li["quantity"]), "unit": li["unit"],
                   "unit_price": _unit_price(li["unit_price"], cur),
                   "discount": plain(li["discount_percent"]) if li["discount_percent"] else "",
                   "tax": plain(li["tax_percent"]), "amount": money(li["gross"])}
                  for n, li in enumerate(lines, start=1)],
        "show_discount_column": any(li["discount_percent"] for li in lines),
        "tax_summary": [{"rate": plain(p), "base": money(b), "tax": money(t)} for p, b, t in summary],
        "subtotal": money(invoice.subtotal), "discount": money(invoice.discount_total),
        "has_discount": bool(invoice.discount_total), "discount_percent": plain(invoice.discount_percent),
        "tax_total": money(invoice.tax_total), "total": money(invoice.total),
        "amount_paid": money(invoice.amount_paid), "amount_credited": money(invoice.amount_credited),
        "amount_written_off": money(invoice.amount_written_off), "amount_due": money(invoice.amount_due),
        "payment_methods": methods, "bank_details": bank,
        "is_paid": invoice.status == InvoiceStatus.ISSUED and invoice.amount_due == 0,
        **payment_codes(invoice, seller.name, bank),
    }


def payment_codes(invoice: Invoice, payee: str, bank_details: str) -> dict:
    """The RF creditor reference (printed grouped) and, for euros, the EPC QR code of an issued
    invoice with something to pay (invoicing.payment_reference)."""
    if invoice.status != InvoiceStatus.ISSUED or not invoice.number or invoice.amount_due <= 0:
        return {"creditor_reference": "", "epc_qr": ""}
    ref = creditor_reference(invoice.number)
    qr = epc_qr_svg(name=payee, iban=iban_of(bank_details), amount=invoice.amount_due,
                    currency=invoice.currency, reference=ref)
    return {"creditor_reference": grouped(ref), "epc_qr": mark_safe(qr)}  # noqa: S308 (segno's own SVG)


# --- rendering ----------------------------------------------------------------------------

_per_thread = threading.local()


def _font_config():
    """One WeasyPrint FontConfiguration per thread, reused by every render: building one costs
    ~5 ms (a fontconfig set-up), as much as laying out a short page. Not shared across threads:
    WeasyPrint does not promise it is thread-safe."""
    if getattr(_per_thread, "font_config", None) is None:
        from weasyprint.text.fonts import FontConfiguration

        _per_thread.font_config = FontConfiguration()
    return _per_thread.font_config


def invoice_stylesheet():
    """The invoice stylesheet parsed once per thread (re-parsed when the file changes): parsing it
    and compiling its ~50 selectors took ~8 ms of every render. It holds no user text and fetches
    nothing, so one parsed sheet serves every organization."""
    from weasyprint import CSS

    path = static_dir() / STYLESHEET
    mtime = path.stat().st_mtime_ns
    cached = getattr(_per_thread, "stylesheet", None)
    if cached is None or cached[0] != mtime:
        sheet = CSS(filename=str(path), font_config=_font_config(), url_fetcher=restricted_fetcher())
        _per_thread.stylesheet = cached = (mtime, sheet)
    return cached[1]


def html_to_pdf(html: str, fetcher=None, stylesheets=()) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=static_dir().as_uri() + "/",
                url_fetcher=fetcher or restricted_fetcher()).write_pdf(font_config=_font_config(),
                                                                       stylesheets=list(stylesheets))


def render_invoice_html(invoice: Invoice, inv_settings: InvoiceSettings | None = None) -> str:
    inv_settings = inv_settings or InvoiceSettings.objects.get(organization_id=invoice.organization_id)
    # Documents are in the customer's language (issue 17), whatever the viewer's is.
    with in_language(language_of(invoice)):
        return render_to_string(TEMPLATE, document_context(invoice, inv_settings))


def language_of(document) -> str:
    """The language an invoice's, credit note's or quote's PDF and e-mails are in: its customer's
    (accounts.locale.document_language), else the organization's default."""
    return document_language(document.customer, document.organization)


def _with_language(state: dict, document) -> dict:
    # English states keep the key they had before documents had a language (their stored PDFs
    # stay current); any other language is part of what the PDF looks like.
    language = language_of(document)
    return state if language == "en" else {**state, "lang": language}


def render_invoice_pdf(invoice: Invoice, inv_settings: InvoiceSettings | None = None) -> bytes:
    inv_settings = inv_settings or InvoiceSettings.objects.get(organization_id=invoice.organization_id)
    html = render_invoice_html(invoice, inv_settings)
    return html_to_pdf(html, restricted_fetcher(logo_path(inv_settings)), [invoice_stylesheet()])


def state_key(invoice: Invoice, inv_settings: InvoiceSettings) -> str:
    """SHA-256 of every input the rendering of an issued invoice depends on."""
    state = {
        "v": TEMPLATE_VERSION, "invoice": invoice.pk, "number": invoice.number, "status": invoice.status,
        "snapshot": invoice.snapshot, "dates": [str(invoice.issue_date), str(invoice.due_date)],
        "texts": [invoice.reference, invoice.notes, invoice.terms],
        "amounts": [str(a) for a in (invoice.subtotal, invoice.discount_total, invoice.tax_total, invoice.total,
                                     invoice.amount_paid, invoice.amount_credited, invoice.amount_written_off,
                                     invoice.amount_due, invoice.discount_percent)],
        "paper": inv_settings.paper_size, "logo": inv_settings.logo.name if inv_settings.logo else "",
    }
    state = _with_language(state, invoice)
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)


def pdf_filename(invoice: Invoice) -> str:
    return f"invoice-{_safe(invoice.number or f'draft-{invoice.pk}')}.pdf"


def stored_invoice_pdf(invoice: Invoice, inv_settings: InvoiceSettings | None = None) -> StoredDocument:
    """The stored PDF of an issued (or void) invoice in its current state; rendered and stored
    on first need, exactly once (`_store_once`). Must run in the invoice's tenant context."""
    if invoice.status == InvoiceStatus.DRAFT:
        raise ValueError("Drafts are rendered on the fly, never stored.")
    inv_settings = inv_settings or InvoiceSettings.objects.get(organization_id=invoice.organization_id)
    from invoicing.seal_check import check_invoice

    check_invoice(invoice)  # never render (or store) an issued invoice that differs from its seal
    return _store_once(invoice.organization_id, DocumentKind.INVOICE, state_key(invoice, inv_settings),
                       lambda: render_invoice_pdf(invoice, inv_settings), invoice=invoice,
                       customer_id=invoice.customer_id, filename=pdf_filename(invoice))


def _store_once(org_id: int, kind: str, key: str, render, **fields) -> StoredDocument:
    """The stored document of this state, rendered and stored if there is none, exactly once:
    concurrent first requests (two downloads, the task queued at issue) queue on a
    transaction-level advisory lock for the state, and those that waited find the stored row.
    The unique (organization, kind, state_key) constraint is the backstop."""
    def stored():
        return StoredDocument.objects.filter(organization_id=org_id, kind=kind, state_key=key).first()

    found = stored()
    if found is not None:
        return found
    with transaction.atomic():  # the lock is held until the outermost commit, so waiters see the row
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(key[:15], 16)])  # 60 bits of the state
        found = stored()
        if found is not None:
            return found
        content = render()
        return StoredDocument.objects.create(
            organization_id=org_id, kind=kind, state_key=key, content=content,
            sha256=hashlib.sha256(content).hexdigest(), size=len(content), created_at=timezone.now(), **fields)


# --- credit notes -----------------------------------------------------------------------------

CREDIT_NOTE_TEMPLATE = "invoicing/pdf/credit_note.html"


def _line_discount(line) -> str:
    """'12.5 %' for a credit note line of a discounted invoice line (line and invoice discount)."""
    source = line.invoice_line
    if source is None:
        return ""
    parts = [p for p in (source.discount_percent, getattr(line.credit_note.invoice, "discount_percent", 0)) if p]
    return " + ".join(f"{plain(p)} %" for p in parts)


def credit_note_context(note: CreditNote, inv_settings: InvoiceSettings) -> dict:
    """From the note's issued snapshot and lines: neither changes after issue."""
    cur, snap = note.currency, note.snapshot or {}
    s, b = snap.get("seller", {}), snap.get("buyer", {})
    lines = list(note.lines.select_related("invoice_line"))
    summary = sum_lines([(li.tax_percent, LineAmounts(li.net_amount, li.net_amount, li.tax_amount))
                         for li in lines]).tax_summary
    logo = logo_path(inv_settings)

    def money(x):
        return format_money(x, cur)

    return {
        "note": note, "number": note.number, "invoice_number": snap.get("invoice") or "",
        "seller": Party(s.get("name", ""), s.get("address", ""), s.get("tax_id", "")),
        "buyer": Party(b.get("name", ""), b.get("address", ""), b.get("tax_id", "")),
        "paper": "letter" if inv_settings.paper_size == "Letter" else "A4",
        "logo_url": logo.as_uri() if logo else "",
        "lines": [{"n": n, "description": li.description, "quantity": plain(li.quantity),
                   "unit_price": _unit_price(li.unit_price, cur), "tax": plain(li.tax_percent),
                   # the credited invoice line's discount (frozen with it), so that qty × price
                   # visibly leads to the net amount (issue 21 point 7)
                   "discount": _line_discount(li),
                   "amount": money(li.net_amount)} for n, li in enumerate(lines, start=1)],
        "any_discount": any(_line_discount(li) for li in lines),
        "tax_summary": [{"rate": plain(p), "base": money(b), "tax": money(t)} for p, b, t in summary],
        "subtotal": money(note.subtotal), "tax_total": money(note.tax_total), "total": money(note.total),
    }


def render_credit_note_pdf(note: CreditNote, inv_settings: InvoiceSettings | None = None) -> bytes:
    inv_settings = inv_settings or InvoiceSettings.objects.get(organization_id=note.organization_id)
    with in_language(language_of(note)):
        html = render_to_string(CREDIT_NOTE_TEMPLATE, credit_note_context(note, inv_settings))
    return html_to_pdf(html, restricted_fetcher(logo_path(inv_settings)), [invoice_stylesheet()])


def credit_note_state_key(note: CreditNote, inv_settings: InvoiceSettings) -> str:
    """A credit note never changes after issue: its PDF depends on the layout, paper and logo."""
    state = {"v": TEMPLATE_VERSION, "credit_note": note.pk, "paper": inv_settings.paper_size,
             "logo": inv_settings.logo.name if inv_settings.logo else ""}
    state = _with_language(state, note)
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def stored_credit_note_pdf(note: CreditNote, inv_settings: InvoiceSettings | None = None) -> StoredDocument:
    """The credit note's stored PDF, rendered and stored on first need (exactly once)."""
    inv_settings = inv_settings or InvoiceSettings.objects.get(organization_id=note.organization_id)
    return _store_once(note.organization_id, DocumentKind.CREDIT_NOTE, credit_note_state_key(note, inv_settings),
                       lambda: render_credit_note_pdf(note, inv_settings), invoice_id=note.invoice_id,
                       customer_id=note.customer_id, filename=f"credit-note-{_safe(note.number)}.pdf")


def settings_of(invoice: Invoice) -> InvoiceSettings:
    """The organization's invoice settings; no query when loaded with
    select_related("organization__invoice_settings")."""
    return invoice.organization.invoice_settings
