"""Bulk actions on the payment and customer lists (issue 21): export the ticked rows as CSV;
archive ticked customers, refusing any with a balance (as the single archive warns); finance
staff only; another organization's ids are never exported or touched."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Customer
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db


def url(world, name):
    return reverse(name, kwargs={"org_slug": world.org.slug})


def csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def listed_rows(world):
    with tenant_context(world.org, world.owner):
        owing = CustomerFactory(organization=world.org, name="Owing Ltd", code="OWE")
        settled = CustomerFactory(organization=world.org, name="Settled Ltd", code="SET")
        issued(world.org, owing, [("Work", "1", "100.00", None)])
        payments = [pay(world.org, settled, Decimal(f"{n}0.00"), allocation="none", reference=f"R{n}")
                    for n in (1, 2, 3)]
    with tenant_context(world.other_org, world.outsider):
        theirs = CustomerFactory(organization=world.other_org, name="Theirs", code="THR")
        their_payment = pay(world.other_org, theirs, Decimal("99.00"), allocation="none", reference="THEIRS")
    return owing, settled, payments, theirs, their_payment


def test_export_selected_payments(world, listed_rows):
    owing, settled, payments, theirs, their_payment = listed_rows
    response = world.client("finance").post(url(world, "payment_bulk"), {
        "export": "1", "ids": [payments[0].pk, payments[2].pk, their_payment.pk]})
    rows = csv_rows(response)
    assert rows[0][0] == "id" and sorted(r[10] for r in rows[1:]) == ["R1", "R3"]  # not theirs, not R2


def test_payment_bulk_refuses_bad_input_and_viewers(world, listed_rows):
    response = world.client("finance").post(url(world, "payment_bulk"), {"export": "1", "back": "sort=amount"})
    assert response.status_code == 302 and response["Location"].endswith("/payments/?sort=amount")
    assert world.client("viewer").post(url(world, "payment_bulk"), {"export": "1", "ids": [1]}).status_code == 403
    page = world.client("finance").get(url(world, "payment_list")).content.decode()
    assert page.count('name="ids"') == 3 and "Export selected" in page
    assert 'name="ids"' not in world.client("viewer").get(url(world, "payment_list")).content.decode()


def test_export_selected_customers(world, listed_rows):
    owing, settled, payments, theirs, their_payment = listed_rows
    rows = csv_rows(world.client("finance").post(url(world, "customer_bulk"), {
        "export": "1", "ids": [owing.pk, settled.pk, theirs.pk]}))
    assert rows[0][:2] == ["code", "name"]
    assert {r[0]: r[6] for r in rows[1:]} == {"OWE": "100.00", "SET": "-60.00"}


def test_archive_refuses_customers_with_a_balance(world, listed_rows):
    owing, settled, payments, theirs, their_payment = listed_rows
    with tenant_context(world.org, world.owner):
        quiet = CustomerFactory(organization=world.org, name="Quiet Ltd", code="QUI")
    response = world.client("finance").post(url(world, "customer_bulk"), {
        "action": "archive", "ids": [owing.pk, settled.pk, quiet.pk, theirs.pk]})
    result = {pk: (ok, str(note)) for _c, pk, ok, note in response.context["rows"]}
    assert result[quiet.pk] == (True, "Archived.")
    assert not result[owing.pk][0] and "Balance 100.00" in result[owing.pk][1]
    assert not result[settled.pk][0] and "Balance" in result[settled.pk][1]  # owed money back: not archived either
    assert result[theirs.pk] == (False, "Not found in this organization.")
    with tenant_context(world.org, world.owner):
        archived = set(Customer.objects.filter(archived_at__isnull=False).values_list("code", flat=True))
    assert archived == {"QUI"}
    with tenant_context(world.other_org, world.outsider):
        assert Customer.objects.get(pk=theirs.pk).archived_at is None


def test_customer_list_has_the_bulk_bar_for_finance_only(world, listed_rows):
    page = world.client("finance").get(url(world, "customer_list")).content.decode()
    assert 'id="bulk-form"' in page and page.count('name="ids"') == 2
    assert 'name="ids"' not in world.client("viewer").get(url(world, "customer_list")).content.decode()
    refused = world.client("viewer").post(url(world, "customer_bulk"), {"action": "archive", "ids": [1]})
    assert refused.status_code == 403
