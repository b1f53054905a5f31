"""The demo bank statement: imported, partly matched and reconciled, a fee posted, the ledger intact."""

import pytest

from accounts.demo_data import demo_customers
from accounts.ledger_verify import verify_organization
from accounts.models import Customer
from invoicing.demo import seed_demo_invoices
from ledger_site.tenancy import tenant_context
from payments.bank_demo import seed_demo_bank
from payments.demo import seed_demo_payments
from payments.models_bank import BankLine
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def test_demo_statement_is_imported_matched_and_reconciled():
    org, owner = make_org()
    with tenant_context(org, owner):
        for n, fields in enumerate(demo_customers()):
            Customer.objects.create(organization=org, code=f"D{n:03d}", currency="EUR", **fields)
        seed_demo_invoices(org, owner)
        seed_demo_payments(org, owner)
        counts = seed_demo_bank(org, owner)
        assert counts["bank_lines"] == 5 and counts["bank_matched"] >= 1
        statuses = sorted(BankLine.objects.values_list("status", flat=True))
        assert "reconciled" in statuses and "unmatched" in statuses
        assert BankLine.objects.filter(amount__lt=0, status="matched", entry__isnull=False).count() == 1
        assert verify_organization(org).ok
        assert seed_demo_bank(org, owner) == {}  # once
