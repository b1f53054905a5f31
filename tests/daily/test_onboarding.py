"""The setup checklist of a new organization (issue 21 point 9)."""

import pytest
from django.test import Client

from accounts.models import Organization
from invoicing.models import InvoiceSettings
from ledger_site.onboarding import checklist
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db


def done(org, owner):
    with tenant_context(org, owner):
        return {s.key for s in checklist(Organization.objects.get(pk=org.pk)) if s.done}


def test_a_new_organization_is_guided_step_by_step():
    org, owner = make_org(name="Fresh Start", slug="fresh-start")
    assert done(org, owner) <= {"reminders"}  # a policy may be seeded; nothing else is done yet
    client = Client()
    client.force_login(owner)
    dashboard = client.get(f"/o/{org.slug}/").content.decode()
    assert "Open the setup checklist" in dashboard
    page = client.get(f"/o/{org.slug}/setup/").content.decode()
    assert "Your postal address" in page and "Your bank details" in page and "Your first invoice" in page

    with tenant_context(org):
        Organization.objects.filter(pk=org.pk).update(address="1 Quay St\nDublin", tax_id="IE9999999X", country="IE")
    with tenant_context(org, owner):
        InvoiceSettings.objects.filter(organization=org).update(bank_details="IBAN IE00 BANK 0000 0000 00")
        customer = CustomerFactory(organization=org, name="First Customer")
        issued(org, customer)
    assert {"address", "tax_id", "bank", "tax_rates", "customer", "invoice"} <= done(org, owner)
    assert "Open the setup checklist" not in client.get(f"/o/{org.slug}/").content.decode()


def test_the_guide_opens_on_the_section_you_are_in():
    org, owner = make_org(name="Guide Co", slug="guide-co")
    client = Client()
    client.force_login(owner)
    page = client.get(f"/o/{org.slug}/invoices/").content.decode()
    assert f'href="/o/{org.slug}/guide/invoicing/"' in page
    for topic in ("getting-started", "invoicing", "payments", "reminders", "reports", "closing-a-month"):
        response = client.get(f"/o/{org.slug}/guide/{topic}/")
        assert response.status_code == 200
    assert "Record payment" in client.get(f"/o/{org.slug}/guide/payments/").content.decode()
    assert client.get(f"/o/{org.slug}/guide/nonsense/").status_code == 404
