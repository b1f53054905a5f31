"""Issue 21 point 9 (onboarding): the tax rates proposed for the organization's country, added in
one click by an owner, and a sample invoice PDF with the organization's current details, rendered
by WeasyPrint and read back as text; nothing of the sample is saved."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Customer, Role
from invoicing import tax_proposals
from invoicing.models import Invoice, InvoiceSettings, TaxRate
from invoicing.models_documents import StoredDocument
from invoicing.sample import sample_invoice
from invoicing.totals import line_amounts
from ledger_site.tenancy import tenant_context
from tests.documents_helpers import pdf_pages_text, pdf_text_pypdf
from tests.factories import add_member, make_org

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def url(org, name):
    return reverse(name, kwargs={"org_slug": org.slug})


def rates(org):
    with tenant_context(org):
        return sorted((f"{r.percent.normalize():f}", r.archived) for r in TaxRate.objects.filter(organization=org))


def test_a_german_organization_is_offered_19_and_7_and_told_20_is_not_german(db):
    org, owner = make_org(name="Berlin GmbH", slug="berlin", country="DE")
    assert rates(org) == [("0", False), ("20", False)]  # what every new organization starts with
    client = signed_in(owner)
    page = client.get(url(org, "tax_rate_list")).content.decode()
    assert "Rates proposed for your country (DE)" in page
    assert "Standard VAT 19%" in page and "Reduced VAT 7%" in page
    assert "is not a rate of DE: archive it if you do not charge it." in page
    response = client.post(url(org, "tax_rate_propose"), follow=True)
    assert "Added: Standard VAT 19%, Reduced VAT 7%." in response.content.decode()
    assert rates(org) == [("0", False), ("19", False), ("20", False), ("7", False)]
    again = client.post(url(org, "tax_rate_propose"), follow=True)
    assert "Every proposed rate is already in use." in again.content.decode()
    assert rates(org) == [("0", False), ("19", False), ("20", False), ("7", False)]
    assert 'id="add-proposed"' not in again.content.decode()


def test_an_archived_rate_of_the_same_percent_is_restored_not_duplicated(db):
    org, owner = make_org(name="Dublin Ltd", slug="dublin", country="IE")
    with tenant_context(org, owner):
        TaxRate.objects.create(organization=org, name="Old 23", percent=Decimal("23"), archived=True)
    signed_in(owner).post(url(org, "tax_rate_propose"))
    assert rates(org) == [("0", False), ("13.5", False), ("20", False), ("23", False)]


def test_without_a_country_nothing_is_proposed_and_the_page_says_where_to_set_it(db):
    org, owner = make_org(name="Nowhere", slug="nowhere")
    client = signed_in(owner)
    assert "Set your country in the" in client.get(url(org, "tax_rate_list")).content.decode()
    refused = client.post(url(org, "tax_rate_propose"), follow=True).content.decode()
    assert "Set your country in the organization settings first; there is nothing to propose." in refused
    assert rates(org) == [("0", False), ("20", False)]


def test_finance_staff_cannot_add_rates(db):
    org, owner = make_org(name="Paris SAS", slug="paris", country="FR")
    finance = add_member(org, Role.FINANCE)
    assert signed_in(finance).post(url(org, "tax_rate_propose")).status_code == 403
    assert rates(org) == [("0", False), ("20", False)]


@given(country=st.sampled_from(sorted(tax_proposals.COUNTRY_RATES)))
# Each example makes its own organization, so the shared database fixture does not leak between them.
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_property_after_adding_every_proposed_rate_is_in_use_and_nothing_else_changed(db, country):
    org, owner = make_org(country=country)
    before = rates(org)
    with tenant_context(org, owner):
        tax_proposals.add_proposed(org)
        found = tax_proposals.proposal(org)
    assert found.to_add == []
    wanted = {f"{Decimal(p).normalize():f}" for _k, p in tax_proposals.COUNTRY_RATES[country][1]}
    assert {p for p, _a in rates(org)} == wanted | {p for p, _a in before}
    assert all(not archived for _p, archived in rates(org))


def test_the_sample_pdf_shows_the_organizations_details_and_saves_nothing(db):
    org, owner = make_org(name="Harbour Design Ltd", slug="harbour", country="IE", address="4 Quay Road\nGalway",
                          tax_id="IE7654321X")
    with tenant_context(org, owner):
        InvoiceSettings.objects.filter(organization=org).update(bank_details="IBAN IE29 AIBK 9311 5212 3456 78")
    response = signed_in(owner).get(url(org, "invoice_sample_pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "\n".join(pdf_pages_text(response.content))
    for expected in ("Harbour Design Ltd", "4 Quay Road", "Galway", "IE7654321X", "IE29 AIBK 9311 5212 3456 78",
                     "Sample Customer Ltd", "Consulting", "12.5 h", "1,068.75 EUR", "1,426.50 EUR"):
        assert expected in text, expected
    assert "SAMPLE" in pdf_text_pypdf(response.content)  # the watermark across the page
    with tenant_context(org):
        assert not Invoice.objects.exists() and not Customer.objects.exists()
        assert not StoredDocument.objects.exists()


def test_the_sample_lines_add_up_by_the_invoice_rules(db):
    org, owner = make_org(country="DE")
    with tenant_context(org, owner):
        invoice = sample_invoice(org)
    lines = invoice.snapshot["lines"]
    recomputed = [line_amounts(Decimal(li["quantity"]), Decimal(li["unit_price"]), Decimal(li["discount_percent"]),
                               Decimal(0), Decimal(li["tax_percent"]), "EUR") for li in lines]
    assert invoice.total == sum(a.net + a.tax for a in recomputed)
    assert invoice.amount_due == invoice.total


def test_only_owners_see_the_sample(db):
    org, owner = make_org(slug="sample-roles")
    viewer = add_member(org, Role.VIEWER)
    assert signed_in(viewer).get(url(org, "invoice_sample_pdf")).status_code == 403
