"""Sortable lists (issue 21 point 3): the keys are a whitelist (ledger_site.sorting); anything
else falls back to the default order; the invoice, payment and customer lists sort by them."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from ledger_site.sorting import SORTS, sort_order
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db


def test_unknown_keys_fall_back_to_the_default():
    assert sort_order("invoices", None) == ("-issued", ["-issue_date", "-pk"])
    assert sort_order("invoices", "total; DROP TABLE") == ("-issued", ["-issue_date", "-pk"])
    assert sort_order("invoices", "-total") == ("-total", ["-total", "-pk"])
    assert sort_order("customers", "balance") == ("balance", ["balance", "pk"])
    assert set(SORTS) == {"customers", "invoices", "payments"}


def test_lists_sort_by_the_column_asked_for():
    org, owner = make_org(name="Sort Co", slug="sort-co")
    with tenant_context(org, owner):
        big = CustomerFactory(organization=org, name="Aaron Big", code="BIG")
        small = CustomerFactory(organization=org, name="Zed Small", code="SMALL")
        a = issued(org, big, [("x", "1", "900.00", None)])
        b = issued(org, small, [("x", "1", "50.00", None)])
        pay(org, small, Decimal("20.00"), reference="P-SMALL")
        pay(org, big, Decimal("300.00"), reference="P-BIG")
    client = Client()
    client.force_login(owner)
    base = f"/o/{org.slug}"
    page = client.get(f"{base}/invoices/?sort=total").content.decode()
    assert page.index(b.number) < page.index(a.number)
    page = client.get(f"{base}/invoices/?sort=-total").content.decode()
    assert page.index(a.number) < page.index(b.number)
    assert 'aria-sort="descending"' in page
    page = client.get(f"{base}/payments/?sort=amount").content.decode()
    assert page.index("P-SMALL") < page.index("P-BIG")
    page = client.get(f"{base}/customers/?sort=-balance").content.decode()
    assert page.index("Aaron Big") < page.index("Zed Small")  # owes 600 vs 30
    page = client.get(f"{base}/customers/?sort=balance").content.decode()
    assert page.index("Zed Small") < page.index("Aaron Big")
    assert re.search(r'data-balance="600\.0+"', page)
