"""Recording a payment takes the organization's ledger head last (payments.services.record_payment):
the allocation rows, the invoices' amounts and the webhook event are written first, holding only the
customer's and its invoices' locks; then the receipt is posted (the head lock, held until the commit)
and the payment row that names its entry is inserted. A payment refused by its allocation never
queues behind the organization's other postings.

Transactional tests: a second connection (the owner's, tests/conftest.py) holds the head."""

import uuid
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import OperationalError
from django.utils import timezone

from accounts.chart import system_accounts
from accounts.ledger_verify import verify_organization
from accounts.models import JournalEntry
from accounts.period import close_period
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments import allocation, services
from payments.allocation import AllocationError
from payments.models import Allocation, Payment
from payments.services import record_payment
from tests.concurrency import call_order, lock_timeout
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paying_customer():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        invoice = issued(org, customer, [("Work", "1", "100.00", None)])
        bank = system_accounts(org)["bank"]
    return org, owner, customer, invoice, bank


def _pay(org, customer, bank, day, actor=None, allocation_mode="auto"):
    return record_payment(org, customer, amount=D("60.00"), currency="EUR", received_date=day,
                          method="bank_transfer", deposit_account=bank, idempotency_key=uuid.uuid4().hex,
                          actor=actor, allocation=allocation_mode)


@pytest.fixture
def short_lock_timeout():
    with lock_timeout(2):
        yield


def test_a_payment_refused_by_its_allocation_does_not_wait_for_the_ledger_head(paying_customer, owner_sql,
                                                                                short_lock_timeout):
    """While another transaction holds the ledger head, a payment whose allocation is refused (a
    closed period) comes back at once. Fails (lock timeout) when the receipt is posted before the
    allocation."""
    org, owner, customer, invoice, bank = paying_customer
    today = timezone.localdate()
    with tenant_context(org, owner):
        close_period(org, today - timedelta(days=5), actor=owner)
        with owner_sql.transaction():
            held = owner_sql.execute("SELECT count(*) FROM (SELECT 1 FROM accounts_ledgerhead "
                                     "WHERE organization_id = %s FOR UPDATE) h", [org.pk]).fetchone()[0]
            assert held == 1
            with pytest.raises(AllocationError, match="closed|lock"):
                _pay(org, customer, bank, today - timedelta(days=10), actor=owner)
            # The lock held is the one recording needs: a valid payment does wait for it.
            with pytest.raises(OperationalError, match="lock timeout"):
                _pay(org, customer, bank, today, actor=owner)
        assert not Payment.objects.filter(organization=org).exists()
        assert not Allocation.objects.filter(organization=org).exists()
        assert Invoice.objects.get(pk=invoice.pk).amount_due == D("100.00")


def test_the_receipt_is_posted_after_the_allocation_and_the_webhook_event(paying_customer, monkeypatch):
    org, owner, customer, invoice, bank = paying_customer
    calls = call_order(monkeypatch, [
        (allocation, "change_invoice_amounts", "invoice amounts"),
        (services.hooks, "emit", "webhook event"),
        (services.ledger, "post", "ledger head"),
        (Payment, "save", "payment row"),
    ])
    with tenant_context(org, owner):
        payment = _pay(org, customer, bank, timezone.localdate(), actor=owner)
        assert calls[-4:] == ["invoice amounts", "webhook event", "ledger head", "payment row"], calls
        payment = Payment.objects.get(pk=payment.pk)
        assert payment.amount_allocated == D("60.00")
        assert payment.entry == JournalEntry.objects.get(organization=org, source_type="payments.payment",
                                                         source_id=payment.pk)
        assert list(Allocation.objects.filter(payment=payment).values_list("invoice_id", "amount")) == [
            (invoice.pk, D("60.00"))]
        assert Invoice.objects.get(pk=invoice.pk).amount_due == D("40.00")
        assert verify_organization(org).ok


def test_a_posting_refused_after_the_allocation_leaves_nothing_behind(paying_customer):
    """Without an allocation the ledger refuses a closed period itself, under its head lock, after
    the payment's id was reserved: the transaction rolls back whole, nothing is recorded."""
    org, owner, customer, invoice, bank = paying_customer
    today = timezone.localdate()
    with tenant_context(org, owner):
        close_period(org, today - timedelta(days=5), actor=owner)
        with pytest.raises(services.LedgerError, match="closed|lock"):
            _pay(org, customer, bank, today - timedelta(days=10), actor=owner, allocation_mode="none")
        assert not Payment.objects.filter(organization=org).exists()
        payment = _pay(org, customer, bank, today, actor=owner)
        assert Payment.objects.get(pk=payment.pk).amount_allocated == D("60.00")
        assert verify_organization(org).ok
