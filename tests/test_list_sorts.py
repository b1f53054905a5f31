"""Every sort a list offers has an index that leads with (organization_id, the sort column), so any
page is an index range scan that stops after a page of rows (issue 23); and ?sort= takes only the
list's own keys."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from ledger_site.sorting import indexed_columns
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db


def _leading_columns(table: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT (SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid AND attnum = i.indkey[0]),
                   (SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid AND attnum = i.indkey[1])
            FROM pg_index i WHERE i.indrelid = %s::regclass AND i.indpred IS NULL AND i.indnkeyatts >= 2""", [table])
        return set(cursor.fetchall())


@pytest.mark.parametrize(("table", "list_name"), [("invoicing_invoice", "invoices"),
                                                 ("payments_payment", "payments"),
                                                 ("accounts_customer", "customers")])
def test_every_offered_sort_has_its_index(table, list_name):
    indexed = _leading_columns(table)
    columns = indexed_columns(list_name)
    expected = {"invoices": {"total", "due_date"}, "payments": {"amount"}, "customers": {"name", "created_at"}}
    assert expected[list_name] <= set(columns)
    missing = [column for column in columns if ("organization_id", column) not in indexed]
    assert missing == []


def test_the_lists_sort_by_the_offered_keys_only():
    org, owner = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org)
        small = h.invoice(org, customer, "10.00", h.ago(5))
        big = h.invoice(org, customer, "900.00", h.ago(9))
        h.pay(org, customer, "5.00", h.ago(2))
        h.pay(org, customer, "70.00", h.ago(3))
    client = Client()
    client.force_login(owner)
    url = reverse("invoice_list", kwargs={"org_slug": org.slug})
    assert [i.pk for i in client.get(url + "?sort=-total").context["page"]] == [big.pk, small.pk]
    assert [i.pk for i in client.get(url + "?sort=total").context["page"]] == [small.pk, big.pk]
    response = client.get(url + "?sort=customer__user__password")  # not offered: the default order
    assert response.context["sort"] == "-issued" and [i.pk for i in response.context["page"]] == [small.pk, big.pk]
    assert response.context["page"].paginator.count == 2
    url = reverse("payment_list", kwargs={"org_slug": org.slug})
    response = client.get(url + "?sort=-amount")
    assert [p.amount for p in response.context["page"]] == [70, 5]
    assert response.context["page"].paginator.count == 2
