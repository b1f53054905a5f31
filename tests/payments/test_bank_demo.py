"""The demo bank statement: imported, partly matched and reconciled, a fee posted, the ledger intact."""

import pytest

from accounts.demo_data import demo_customers
from accounts.ledger_verify import verify_organization
from accounts.models import Customer
from invoicing.demo import seed_demo_invoices
from invoicing.models import WriteOff
from ledger_site.tenancy import tenant_context
from payments.bank import reconciliation
from payments.bank_demo import seed_demo_bank
from payments.demo import seed_demo_payments
from payments.models import Refund
from payments.models_bank import BankAccount, BankLine
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
        assert counts["bank_lines"] == 7 and counts["bank_matched"] >= 3
        statuses = sorted(BankLine.objects.values_list("status", flat=True))
        assert "reconciled" in statuses and "unmatched" in statuses
        assert BankLine.objects.filter(amount__lt=0, status="matched", entry__isnull=False,
                                       entry_linked=False).count() == 1  # the account fee, posted
        # The short receipt: matched, its difference booked as a bank fee.
        short = BankLine.objects.get(bank_reference="DEMO-SHORT")
        assert short.status == "matched" and "Booked as bank fee" in short.match_reason
        assert WriteOff.objects.filter(entry__idempotency_key__startswith=f"bankline-{short.pk}-").count() == 1
        # The bank's debit for the demo's refund: linked to the refund, nothing posted by it.
        refund_line = BankLine.objects.get(bank_reference="DEMO-REFUND")
        assert refund_line.entry_linked and refund_line.entry_id == Refund.objects.get().entry_id
        assert reconciliation(BankAccount.objects.get()).unseen_out == []
        assert verify_organization(org).ok
        assert seed_demo_bank(org, owner) == {}  # once
