"""A small hand-computed ledger for the ledger page tests, and clients for each role.

Customer BLUE (EUR), dates relative to `d0` (60 days ago):

    #1  d0      sale      100.00   balance  100.00
    #2  d0+10   sale       50.50   balance  150.50
    #3  d0+20   receipt    30.00   balance  120.50
    #4  d0+30   sale       20.00   balance  140.50
    #5  d0+40   receipt   200.00   balance  -59.50  (in credit)

Trial balance today: Bank Dr 230.00; AR Cr 59.50, Sales revenue Cr 170.50: totals 230.00 each.
"""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, add_member, make_org
from tests.ledger_helpers import receipt, sale

RUNNING_RE = re.compile(r'class="num running[^"]*" data-balance="([^"]+)"')


@dataclass
class Book:
    org: object
    owner: object
    finance: object
    viewer: object
    customer: object
    d0: date
    entries: list = field(default_factory=list)

    def ctx(self):
        """Requests end with the tenant context cleared (the middleware): re-enter it to look."""
        return tenant_context(self.org, self.owner)

    def client(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def url(self, name, **kwargs):
        return reverse(name, kwargs={"org_slug": self.org.slug, **kwargs})


def running_balances(html: str) -> list[Decimal]:
    return [Decimal(v) for v in RUNNING_RE.findall(html)]


@pytest.fixture(name="tally")
def book_fixture(db):
    org, owner = make_org(name="Acme Ltd")
    finance = add_member(org, Role.FINANCE)
    viewer = add_member(org, Role.VIEWER)
    d0 = date.today() - timedelta(days=60)
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Bluebird Bakery", code="BLUE")
        entries = [
            sale(org, customer, "100.00", effective_date=d0, actor=owner),
            sale(org, customer, "50.50", effective_date=d0 + timedelta(days=10), actor=owner),
            receipt(org, customer, "30.00", effective_date=d0 + timedelta(days=20)),
            sale(org, customer, "20.00", effective_date=d0 + timedelta(days=30), actor=owner),
            receipt(org, customer, "200.00", effective_date=d0 + timedelta(days=40)),
        ]
    return Book(org, owner, finance, viewer, customer, d0, entries)
