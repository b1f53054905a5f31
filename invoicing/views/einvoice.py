"""The e-invoices of an issued invoice or credit note: a page that says what is missing or offers
the files (Factur-X PDF, its CII XML, the Peppol UBL XML). Every file is checked against its XSD
before it is served; a document that lacks what the standard requires gets a 409 with the list."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.permissions import org_view
from invoicing.einvoice import (
    EInvoiceError,
    SchemaError,
    check_ubl_xsd,
    check_xsd,
    cii_xml,
    edoc,
    facturx_pdf,
    missing,
    ubl_xml,
)
from invoicing.models import CreditNote, Invoice

FILES = {"cii": ("application/xml", "cii.xml"), "ubl": ("application/xml", "ubl.xml"),
         "facturx": ("application/pdf", "facturx.pdf")}


def _invoice(request, pk):
    return get_object_or_404(Invoice.objects.select_related("customer", "organization"), organization=request.org,
                             pk=pk)


def _credit_note(request, pk):
    return get_object_or_404(CreditNote.objects.select_related("customer", "organization", "invoice"),
                             organization=request.org, pk=pk)


def produce(source, what: str) -> bytes:
    """The file, checked against its official XSD; EInvoiceError when something is missing."""
    if what == "ubl":
        xml = ubl_xml(source)
        check_ubl_xsd(xml)
        return xml
    if what == "cii":
        xml = cii_xml(source)
        check_xsd(xml)
        return xml
    return facturx_pdf(source)


def _page(request, source, status=200, lacking=None, error=""):
    doc = edoc(source)
    is_note = isinstance(source, CreditNote)
    if lacking is None:
        lacking = missing(doc)
    ubl_lacking = [m for m in missing(doc, "ubl") if m not in lacking]
    return render(request, "invoicing/einvoice.html", {
        "document": source, "is_note": is_note, "missing": lacking, "ubl_missing": ubl_lacking, "error": error,
        "base": "credit_note_einvoice" if is_note else "einvoice"}, status=status)


def _serve(request, source, what: str):
    try:
        content = produce(source, what)
    except EInvoiceError as e:
        return _page(request, source, 409, e.missing)
    except SchemaError as e:  # our own bug: say so, offer nothing
        return _page(request, source, 500, error=str(e))
    content_type, suffix = FILES[what]
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{source.number}-{suffix}"'
    return response


@require_GET
@org_view(Role.VIEWER)
def einvoice_page(request, pk):
    return _page(request, _invoice(request, pk))


@require_GET
@org_view(Role.VIEWER)
def einvoice_xml(request, pk):
    return _serve(request, _invoice(request, pk), "cii")


@require_GET
@org_view(Role.VIEWER)
def einvoice_ubl(request, pk):
    return _serve(request, _invoice(request, pk), "ubl")


@require_GET
@org_view(Role.VIEWER)
def einvoice_pdf(request, pk):
    return _serve(request, _invoice(request, pk), "facturx")


@require_GET
@org_view(Role.VIEWER)
def credit_note_einvoice_page(request, pk):
    return _page(request, _credit_note(request, pk))


@require_GET
@org_view(Role.VIEWER)
def credit_note_einvoice_xml(request, pk):
    return _serve(request, _credit_note(request, pk), "cii")


@require_GET
@org_view(Role.VIEWER)
def credit_note_einvoice_ubl(request, pk):
    return _serve(request, _credit_note(request, pk), "ubl")


@require_GET
@org_view(Role.VIEWER)
def credit_note_einvoice_pdf(request, pk):
    return _serve(request, _credit_note(request, pk), "facturx")
