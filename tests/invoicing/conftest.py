"""Shared set-up for the invoicing page tests: an organization with an owner, a finance member,
a viewer and a customer, and clients signed in as each."""

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, add_member, make_org


@dataclass
class Shop:
    org: object
    owner: object
    finance: object
    viewer: object
    customer: object

    def ctx(self):
        """Requests end with the tenant context cleared (the middleware): re-enter it to look."""
        return tenant_context(self.org, self.owner)

    def client(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def url(self, name, **kwargs):
        return reverse(name, kwargs={"org_slug": self.org.slug, **kwargs})


@pytest.fixture
def acme(db):
    org, owner = make_org(name="Acme Ltd", address="1 Main Street\nDublin", tax_id="IE999")
    finance = add_member(org, Role.FINANCE)
    viewer = add_member(org, Role.VIEWER)
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Bluebird Bakery", code="BLUE", payment_terms_days=14,
                                   billing_address="5 Harbour Road\nCork")
    return Shop(org, owner, finance, viewer, customer)
