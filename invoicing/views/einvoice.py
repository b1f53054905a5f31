"""The e-invoice of an issued invoice: a page that says what is missing or offers the files."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.permissions import org_view
from invoicing.einvoice import EInvoiceError, check_xsd, cii_xml, facturx_pdf, missing
from invoicing.models import Invoice


def _invoice(request, pk):
    return get_object_or_404(Invoice.objects.select_related("customer", "organization"), organization=request.org,
                             pk=pk)


@require_GET
@org_view(Role.VIEWER)
def einvoice_page(request, pk):
    invoice = _invoice(request, pk)
    lacking = missing(invoice)
    return render(request, "invoicing/einvoice.html", {"invoice": invoice, "missing": lacking}, status=200)


@require_GET
@org_view(Role.VIEWER)
def einvoice_xml(request, pk):
    invoice = _invoice(request, pk)
    try:
        xml = cii_xml(invoice)
        check_xsd(xml)
    except EInvoiceError as e:
        return render(request, "invoicing/einvoice.html", {"invoice": invoice, "missing": e.missing}, status=409)
    response = HttpResponse(xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}-cii.xml"'
    return response


@require_GET
@org_view(Role.VIEWER)
def einvoice_pdf(request, pk):
    invoice = _invoice(request, pk)
    try:
        pdf = facturx_pdf(invoice)
    except EInvoiceError as e:
        return render(request, "invoicing/einvoice.html", {"invoice": invoice, "missing": e.missing}, status=409)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}-facturx.pdf"'
    return response
