"""Issue 21 point 7: the credit-note PDF shows the credited line's discount, so that
"12.5 h × 95.00" visibly leads to its net amount."""

from decimal import Decimal

import pytest

from invoicing.credit_notes import credit_invoice_lines
from invoicing.models import InvoiceLine
from invoicing.pdf import render_credit_note_pdf
from invoicing.services import issue_invoice, recompute_totals
from ledger_site.tenancy import tenant_context
from tests.documents_helpers import pdf_pages_text
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft

pytestmark = pytest.mark.django_db


def test_credit_note_pdf_shows_the_line_discount():
    org, owner = make_org(name="Disc Co", slug="disc-co")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Hours Ltd")
        invoice = draft(org, customer, [("Consulting hours", "12.5", "95.00", None)])
        InvoiceLine.objects.filter(invoice=invoice).update(discount_percent=Decimal("10"))
        recompute_totals(invoice)
        invoice = issue_invoice(invoice)
        line = invoice.lines.get()
        note = credit_invoice_lines(invoice, {line.pk: Decimal("12.5")}, "refund")
        text = " ".join(pdf_pages_text(render_credit_note_pdf(note)))
    assert "DISC." in text and "10 %" in text  # column heads are upper-cased by the stylesheet
    assert "1,068.75" in text  # 12.5 × 95.00 = 1,187.50, less 10 %


def test_public_invoice_page_shows_the_line_discount():
    from django.test import Client

    from invoicing.public import ensure_link, link_path

    org, owner = make_org(name="Disc Pub", slug="disc-pub")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Hours Two")
        invoice = draft(org, customer, [("Consulting hours", "12.5", "95.00", None)])
        InvoiceLine.objects.filter(invoice=invoice).update(discount_percent=Decimal("10"))
        recompute_totals(invoice)
        invoice = issue_invoice(invoice)
        path = link_path(ensure_link(invoice, owner))
    page = Client().get(path).content.decode()
    assert "−10 %" in page and "1,068.75" in page
