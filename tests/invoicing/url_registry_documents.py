"""How the URL × role matrix (tests/urlmatrix.py) builds and posts the invoice document pages
(invoicing/urls_documents.py): PDF, e-mail, public link, delivery retry, logo."""

from invoicing.models_documents import DeliveryStatus, EmailDelivery
from invoicing.public import ensure_link
from tests.invoicing_helpers import issued
from tests.urlmatrix import register_object, register_url


@register_object("doc_invoice")
def _doc_invoice(world):
    return issued(world.org, world.get("customer"), actor=world.owner)


@register_object("doc_linked_invoice")
def _doc_linked_invoice(world):
    invoice = issued(world.org, world.get("customer"), actor=world.owner)
    ensure_link(invoice, world.owner)
    return invoice


@register_object("doc_failed_delivery")
def _doc_failed_delivery(world):
    return EmailDelivery.objects.create(
        organization=world.org, kind="invoice", invoice=world.get("doc_invoice"), customer=world.get("customer"),
        recipients=["ap@matrix.example"], subject="Invoice", body="Hello", status=DeliveryStatus.FAILED,
        attempts=5, last_error="SMTPServerDisconnected: down")


register_url("invoice_pdf", pk="doc_invoice")
register_url("invoice_send", pk="doc_invoice",
             post=lambda w: {"recipients": "ap@matrix.example", "subject": "Invoice", "body": "See {link}"})
register_url("invoice_link_create", pk="doc_invoice", post=lambda w: {})
register_url("invoice_link_revoke", pk="doc_linked_invoice", post=lambda w: {})
register_url("invoice_delivery_retry", pk="doc_invoice", delivery_pk="doc_failed_delivery", post=lambda w: {})
# No post for the logo upload: a file cannot be re-posted from one registered dict (tests/invoicing/
# test_pdf_fetcher.py covers uploads by role). Without a logo, removing redirects and the image is 404.
register_url("invoice_logo_remove", get_status=302)
register_url("invoice_logo_image", get_status=404)


@register_object("doc_credit_note")
def _doc_credit_note(world):
    from decimal import Decimal

    from invoicing.credit_notes import credit_amount

    return credit_amount(world.get("customer"), Decimal("5.00"), "Matrix credit", actor=world.owner,
                         invoice=world.get("doc_invoice"))


register_url("credit_note_pdf", pk="doc_credit_note")
