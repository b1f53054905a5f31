"""Issue 21 point 10: the dashboard's "Recent activity" and the customer's history open the
document an entry posted (the invoice, the payment), not the raw journal entry; the customer
page shows contact details and terms before the long panels."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.reports.helpers import pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(db):
    org, owner = make_org(name="Links Ltd", slug="links-ltd")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Birch Co", code="BIRCH", phone="+353 1 555 0100")
        invoice = issued(org, customer, [("Design", "1", "400.00", None)])
        payment = pay(org, customer, "150.00", timezone.localdate(), allocation="auto")
    client = Client()
    client.force_login(owner)
    return org, client, customer, invoice, payment


def url(org, name, **kwargs):
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


def test_recent_activity_opens_the_payment_and_the_invoice(books):
    org, client, customer, invoice, payment = books
    page = client.get(url(org, "dashboard")).content.decode()
    recent = page[page.index("Recent activity"):]
    docs = re.findall(r'<a href="([^"]+)" class="recent-doc">([^<]+)</a>', recent)
    to_payment = [text for href, text in docs if href == url(org, "payment_detail", pk=payment.pk)]
    assert len(to_payment) == 1 and to_payment[0].startswith("Payment "), docs
    assert (url(org, "invoice_detail", pk=invoice.pk), f"Invoice {invoice.number}") in docs
    assert "payments.payment" not in recent and "invoicing.invoice" not in recent


def test_the_customer_history_links_each_row_to_its_document(books):
    org, client, customer, invoice, payment = books
    page = client.get(url(org, "customer_detail", pk=customer.pk)).content.decode()
    assert f'href="{url(org, "invoice_detail", pk=invoice.pk)}">{invoice.number}</a>' in page
    assert f'href="{url(org, "payment_detail", pk=payment.pk)}">' in page


def test_the_customer_page_starts_with_contact_details_and_terms(books):
    org, client, customer, invoice, payment = books
    page = client.get(url(org, "customer_detail", pk=customer.pk)).content.decode()
    contact = page.index("+353 1 555 0100")
    for panel_heading in (">Invoices</h2>", ">Payments and credit</h2>", ">Transaction history</h2>"):
        assert contact < page.index(panel_heading), panel_heading
