"""Invoice documents: the PDF, sending it by e-mail, the public link, the logo, the public pages.

Organization pages (under /o/<org_slug>/, org_view): PDF download (viewer), send / retry /
link create (finance, POST), link revoke (finance, confirmation then POST), logo (owner).
Public pages (/p/<token>/, no login): see invoicing.public for how the token sets the tenant.
"""

import functools
from contextlib import contextmanager
from pathlib import Path

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.auth import client_ip
from accounts.ledger import LedgerError
from accounts.locale import in_language
from accounts.models import Membership, Role
from accounts.permissions import org_view
from invoicing import documents, mail, public
from invoicing.models import CreditNote, Invoice, InvoiceSettings, InvoiceStatus
from invoicing.models_documents import EmailDelivery
from invoicing.pdf import document_context, language_of, logo_path, stored_credit_note_pdf
from invoicing.seal_check import SealBroken, refused
from ledger_site.tenancy import tenant_context

MAX_LOGO_BYTES = 1024 * 1024
MAX_LOGO_PIXELS = 4000
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg"}


# --- forms ----------------------------------------------------------------------------------

class SendInvoiceForm(forms.Form):
    recipients = forms.CharField(label=gettext_lazy("To"), max_length=1000,
                                 help_text=gettext_lazy("Separate several addresses with commas."))
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=300)
    body = forms.CharField(label=gettext_lazy("Message"), max_length=10000, widget=forms.Textarea(attrs={"rows": 9}),
                           help_text=gettext_lazy("{link} becomes the customer's link to the invoice. "
                                                  "The PDF is attached."))

    def clean_recipients(self):
        return mail.parse_recipients(self.cleaned_data["recipients"])

    def clean_subject(self):
        return mail.one_line(self.cleaned_data["subject"])


class LogoForm(forms.Form):
    logo = forms.ImageField(label=gettext_lazy("Logo"),
                            help_text=gettext_lazy("PNG or JPEG, at most 1 MB. Shown at the top of your invoices."))

    def clean_logo(self):
        logo = self.cleaned_data["logo"]
        if logo.size > MAX_LOGO_BYTES:
            raise ValidationError(_("The logo is larger than 1 MB; please upload a smaller image."))
        image = getattr(logo, "image", None)  # set by ImageField: Pillow has opened and verified it
        fmt = getattr(image, "format", None)
        if fmt not in LOGO_FORMATS:
            raise ValidationError(_("Upload a PNG or JPEG image (this one is %(format)s).")
                                  % {"format": fmt or _("not an image")})
        width, height = image.size
        if width > MAX_LOGO_PIXELS or height > MAX_LOGO_PIXELS:
            raise ValidationError(_("The logo is too large (%(w)s × %(h)s pixels); at most %(max)s on a side.")
                                  % {"w": width, "h": height, "max": MAX_LOGO_PIXELS})
        logo.extension = LOGO_FORMATS[fmt]
        return logo


# --- helpers --------------------------------------------------------------------------------

def _invoice(request, pk) -> Invoice:
    return get_object_or_404(Invoice.objects.select_related("organization__invoice_settings", "customer"),
                             organization=request.org, pk=pk)


def _back(request, invoice):
    return redirect(reverse("invoice_detail", kwargs={"org_slug": request.org.slug, "pk": invoice.pk})
                    + "#documents")


def pdf_response(request, pdf, download: bool) -> HttpResponse:
    """The PDF, or 304 when the client's ETag (the SHA-256) says it has these bytes already."""
    if pdf.content is None or request.headers.get("If-None-Match") == f'"{pdf.sha256}"':
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(pdf.content, content_type="application/pdf")
        response["Content-Length"] = str(len(pdf.content))
    response["ETag"] = f'"{pdf.sha256}"'
    response["Cache-Control"] = "private, no-cache"
    response["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{pdf.filename}"'
    return response


# --- organization pages -------------------------------------------------------------------

@transaction.non_atomic_requests  # read-only but for the first render, which stores in its own transaction
@require_GET
@org_view(Role.VIEWER)
def invoice_pdf(request, pk):
    etag = request.headers.get("If-None-Match")
    invoices = (Invoice.objects.select_related("organization__invoice_settings", "customer")
                .filter(organization=request.org))
    invoice = get_object_or_404(documents.with_latest_pdf(invoices, content=etag is None), pk=pk)
    try:
        pdf = documents.current_pdf(invoice, invoice, etag)
    except SealBroken as exc:
        return refused(exc)
    return pdf_response(request, pdf, download=request.GET.get("download") == "1")


@transaction.non_atomic_requests  # as above
@require_GET
@org_view(Role.VIEWER)
def credit_note_pdf(request, pk):
    note = get_object_or_404(CreditNote.objects.select_related("organization__invoice_settings", "customer"),
                             organization=request.org, pk=pk)
    doc = stored_credit_note_pdf(note, note.organization.invoice_settings)
    pdf = documents.ServedPdf(bytes(doc.content), doc.sha256, doc.filename)
    return pdf_response(request, pdf, download=request.GET.get("download") == "1")


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def invoice_send(request, pk):
    invoice = _invoice(request, pk)
    if invoice.status != InvoiceStatus.ISSUED:
        messages.error(request, _("Only an issued invoice can be e-mailed."))
        return _back(request, invoice)
    form = SendInvoiceForm(request.POST or None, initial=mail.draft_message(invoice))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mail.queue_invoice_email(invoice, data["recipients"], data["subject"], data["body"], actor=request.user,
                                     base_url=request.build_absolute_uri("/"))
        except LedgerError as e:
            form.add_error(None, " ".join(e.messages))
        else:
            messages.success(request, _("Invoice %(number)s is on its way to %(to)s. The delivery log below shows "
                                        "when it has been sent.") % {"number": invoice.number,
                                                                     "to": ", ".join(data["recipients"])})
            return _back(request, invoice)
    return render(request, "invoicing/documents/send.html", {"invoice": invoice, "form": form})


@require_POST
@org_view(Role.FINANCE)
def delivery_retry(request, pk, delivery_pk):
    invoice = _invoice(request, pk)
    delivery = get_object_or_404(EmailDelivery, organization=request.org, invoice=invoice, pk=delivery_pk)
    try:
        with transaction.atomic():
            mail.retry_now(delivery, actor=request.user)
    except LedgerError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("The e-mail to %(to)s is queued again.") % {"to": delivery.recipient_list})
    return _back(request, invoice)


@require_POST
@org_view(Role.FINANCE)
def link_create(request, pk):
    invoice = _invoice(request, pk)
    try:
        public.ensure_link(invoice, actor=request.user)
    except LedgerError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("The public link is ready: copy it from the Documents panel."))
    return _back(request, invoice)


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def link_revoke(request, pk):
    invoice = _invoice(request, pk)
    link = public.active_link(invoice)
    if link is None:
        messages.info(request, _("This invoice has no active public link."))
        return _back(request, invoice)
    if request.method == "POST":
        public.revoke_link(link, actor=request.user)
        messages.success(request, _("Public link revoked: it no longer opens the invoice."))
        return _back(request, invoice)
    return render(request, "invoicing/documents/confirm.html", {
        "invoice": invoice, "title": _("Revoke the public link of %(number)s?") % {"number": invoice.number},
        "question": _("Anyone who has the link, including the customer, can no longer open this invoice with it. "
                      "You can create a new link afterwards."),
        "button": _("Revoke link"), "cancel_url": reverse("invoice_detail", args=[request.org.slug, invoice.pk]),
    })


@require_http_methods(["GET", "POST"])
@org_view(Role.OWNER)
def logo_settings(request):
    inv_settings = InvoiceSettings.objects.get(organization=request.org)
    form = LogoForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        old = inv_settings.logo.name if inv_settings.logo else ""
        logo = form.cleaned_data["logo"]
        inv_settings.logo.save(f"org{request.org.pk}-logo.{logo.extension}", logo, save=False)
        inv_settings.save(update_fields=["logo"])
        _delete_logo_file(inv_settings, old)
        messages.success(request, _("Logo saved. New and re-rendered invoices show it."))
        return redirect("invoice_logo", org_slug=request.org.slug)
    return render(request, "invoicing/documents/logo.html", {
        "form": form, "settings": inv_settings, "active": "invoice_logo",
    })


@require_http_methods(["GET", "POST"])
@org_view(Role.OWNER)
def logo_remove(request):
    inv_settings = InvoiceSettings.objects.get(organization=request.org)
    if not inv_settings.logo:
        return redirect("invoice_logo", org_slug=request.org.slug)
    if request.method == "POST":
        old = inv_settings.logo.name
        inv_settings.logo = ""
        inv_settings.save(update_fields=["logo"])
        _delete_logo_file(inv_settings, old)
        messages.success(request, _("Logo removed."))
        return redirect("invoice_logo", org_slug=request.org.slug)
    return render(request, "invoicing/documents/confirm.html", {
        "title": _("Remove the logo?"),
        "question": _("Invoices rendered from now on have no logo. PDFs already stored keep theirs."),
        "button": _("Remove logo"), "cancel_url": reverse("invoice_logo", args=[request.org.slug]),
    })


def _delete_logo_file(inv_settings, name: str) -> None:
    if name and name != (inv_settings.logo.name if inv_settings.logo else ""):
        storage = inv_settings.logo.storage
        if storage.exists(name):
            storage.delete(name)


@org_view(Role.VIEWER)
def logo_image(request):
    """The organization's logo for the settings page preview (media is not served publicly)."""
    inv_settings = InvoiceSettings.objects.get(organization=request.org)

    path = logo_path(inv_settings)
    if path is None:
        raise Http404
    content_type = "image/png" if Path(path).suffix.lower() == ".png" else "image/jpeg"
    response = HttpResponse(Path(path).read_bytes(), content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- public pages -------------------------------------------------------------------------

def _public_headers(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    response["Cache-Control"] = "private, no-store"
    return response


def _is_member(request, org_id) -> bool:
    """A signed-in member previewing the customer's page is not the customer viewing it."""
    return request.user.is_authenticated and Membership.objects.filter(user_id=request.user.pk,
                                                                        organization_id=org_id).exists()


class _LinkExpired(Exception):
    pass


@contextmanager
def _public_link(token: str, annotate=None):
    """The live link a token names, in its organization's tenant context for the block; 404 for
    a tampered or malformed token (before any query), a revoked link or a draft; 404 as well (through
    `_gone_when_expired`, with a page naming the seller) for an expired one (issue 19: a dead link is 404)."""
    parsed = public.parse_token(token)
    if parsed is None:
        raise Http404
    org_id, link_id, nonce = parsed
    with tenant_context(org_id):
        link = public.find_link(org_id, link_id, nonce, annotate=annotate)
        if link is None:
            raise Http404

        if public.is_expired(link):
            raise _LinkExpired(link.invoice.organization.name, language_of(link.invoice))
        # Everything the customer sees on the link (the page, its messages, the portal, the PDF)
        # in the customer's language, amounts and dates (issue 17).
        with in_language(language_of(link.invoice)):
            yield link


def _gone_when_expired(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except _LinkExpired as e:
            with in_language(e.args[1]):  # the customer's language (issue 17)
                response = render(request, "public/link_expired.html", {"seller": e.args[0]}, status=404)
            return _public_headers(response)
    return wrapper


@_gone_when_expired
@require_GET
def public_invoice(request, token):
    with _public_link(token) as link:
        # Not a view yet: mail scanners fetch every link. The page's script reports one
        # (public_invoice_seen) once a person has it on screen; a PDF download is one too.

        invoice = link.invoice
        ctx = document_context(invoice, invoice.organization.invoice_settings)
        ctx.update({"token": token, "seen_ticket": public.seen_ticket(link), "status": invoice.display_status,
                    "is_void": invoice.status == InvoiceStatus.VOID,
                    "is_overdue": invoice.is_overdue})
        response = render(request, "public/invoice.html", ctx)
    return _public_headers(response)


@csrf_exempt  # no session: the page view's signed, single-use ticket stands in for a CSRF token
@_gone_when_expired
@transaction.non_atomic_requests  # the view count: its own transaction
@require_POST
def public_invoice_seen(request, token):
    """The public page's script: the invoice has been on a person's screen for a moment."""
    with _public_link(token) as link:
        if not public.ticket_is_fresh(link, request.POST.get("ticket", "")):
            return _public_headers(HttpResponse(status=403))
        if not _is_member(request, link.organization_id):
            public.count_view(link, client_ip(request))
    return _public_headers(HttpResponse(status=204))


@_gone_when_expired
@transaction.non_atomic_requests  # writes: the view count (its own transaction) and a first render
@require_GET
def public_invoice_pdf(request, token):
    etag = request.headers.get("If-None-Match")
    with _public_link(token, annotate=lambda links: documents.with_latest_pdf(
            links, "invoice_id", content=etag is None)) as link:
        if not _is_member(request, link.organization_id):
            public.count_view(link, client_ip(request))
        try:
            pdf = documents.current_pdf(link.invoice, link, etag)
        except SealBroken as exc:
            return refused(exc)
    return _public_headers(pdf_response(request, pdf, download=request.GET.get("download") == "1"))


# The customer portal (reminders.views.portal) opens the same links the same way.
public_link, gone_when_expired = _public_link, _gone_when_expired
public_headers, is_member = _public_headers, _is_member
