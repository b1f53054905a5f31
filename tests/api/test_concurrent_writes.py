"""Many API clients writing at once in one organization: drafts, issues and payments interleave
on the number series and the ledger head (taken last, invoicing.services.issue_invoice), and the
numbers stay gapless and unique, the chain verifies, and every balance is exact."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from accounts.ledger_verify import verify_organization
from accounts.models import JournalEntry
from invoicing.models import Invoice, InvoiceStatus
from ledger_site.tenancy import tenant_context
from tests.api.helpers import Api, draft_body, make_key, payment_body
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 8
ROUNDS = 3


def test_concurrent_clients_issuing_and_paying_leave_gapless_numbers_and_an_intact_chain():
    org, owner = make_org()
    _key, token = make_key(org, owner)
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org, credit_limit=Decimal(0)) for _ in range(CLIENTS)]

    def client_work(i):
        api, numbers = Api(token, Client()), []
        for _round in range(ROUNDS):
            created = api.post("/invoices", draft_body(customers[i].pk))
            assert created.status_code == 201, created.content
            issued = api.post(f"/invoices/{created.json()['id']}/issue")
            assert issued.status_code == 200, issued.content
            numbers.append(issued.json()["number"])
            paid = api.post("/payments", payment_body(customers[i].pk, issued.json()["total"]))
            assert paid.status_code == 201, paid.content
        return numbers

    numbers = [n for share in run_at_once(CLIENTS, client_work) for n in share]
    year = date.today().year
    assert sorted(numbers) == [f"INV-{year}-{n:05d}" for n in range(1, CLIENTS * ROUNDS + 1)]
    with tenant_context(org, owner):
        invoices = Invoice.objects.filter(organization=org)
        assert invoices.filter(status=InvoiceStatus.ISSUED, amount_due=0).count() == CLIENTS * ROUNDS
        for customer in customers:
            assert customer.balances.get().amount == 0
        seqs = list(JournalEntry.objects.filter(organization=org).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, 2 * CLIENTS * ROUNDS + 1))
        result = verify_organization(org)
        assert result.ok, result.problems
