"""The payments import's set-based writer (payments.bulk.record_many) against the payment screen's
door (payments.services.record_payment) row by row: the same allocations, amounts due, payments'
allocated amounts, balances and webhooks' outbox rows."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.ledger_verify import verify_organization
from accounts.models import Customer, CustomerBalance, JournalEntry
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Allocation, Payment
from payments.services import AUTO, NONE, deposit_accounts, record_payment
from reminders.models_webhooks import WebhookDelivery, WebhookEndpoint
from reminders.webhooks import new_secret
from tests.factories import make_org
from tests.imports.helpers import CUSTOMERS, do_import

pytestmark = pytest.mark.django_db

INVOICES = ("number,customer_code,issue_date,due_date,description,unit_price\n"
            "A-1,0042,2025-01-10,2025-02-10,One,100.00\n"
            "A-2,0042,2025-01-05,2025-03-01,Two,50.00\n"
            "A-3,0042,2025-02-01,2025-02-20,Three,70.00\n"
            "B-1,0043,2025-01-10,2025-02-10,Four,30.00\n")
# Oldest due first is; the rows above count.
PAYMENTS = ("customer_code,received_date,amount,reference,invoices\n"
            "0042,2025-03-01,80.00,R1,\n"              # A-1 80
            "0042,2025-03-02,40.00,R2,\n"              # A-1 20, A-3 20
            "0042,2025-03-03,30.00,R3,A-2=25; A-3\n"   # A-2 25, A-3 5
            "0043,2025-03-04,45.00,R4,\n"              # B-1 30, 15 unapplied
            "0042,2025-03-05,10.00,R5,none\n")
ROWS = [("0042", date(2025, 3, 1), "80.00", "R1", AUTO), ("0042", date(2025, 3, 2), "40.00", "R2", AUTO),
        ("0042", date(2025, 3, 3), "30.00", "R3", {"A-2": "25", "A-3": "5"}),
        ("0043", date(2025, 3, 4), "45.00", "R4", AUTO), ("0042", date(2025, 3, 5), "10.00", "R5", NONE)]


def books(org):
    with tenant_context(org):
        return (
            sorted(Invoice.objects.values_list("number", "amount_paid", "amount_due")),
            sorted(Payment.objects.values_list("reference", "amount", "amount_allocated")),
            sorted(Allocation.objects.values_list("payment__reference", "invoice__number", "amount",
                                                  "effective_date")),
            sorted(CustomerBalance.objects.values_list("customer__code", "amount")),
            sorted((e.effective_date, e.memo.split(" from ")[0]) for e in JournalEntry.objects.filter(
                idempotency_key__startswith="payment:")),
            sorted(WebhookDelivery.objects.values_list("event_type", flat=True)),
        )


def subscribed(org, owner):
    with tenant_context(org, owner):
        WebhookEndpoint.objects.create(organization=org, url="https://hooks.example/x", secret=new_secret(),
                                       events=["payment.recorded", "invoice.paid"], created_by=owner)


def test_the_bulk_writer_writes_what_record_payment_row_by_row_writes():
    bulk, owner = make_org()
    by_hand, owner2 = make_org()
    for org, who in ((bulk, owner), (by_hand, owner2)):
        assert do_import(org, "customers", CUSTOMERS.encode(), actor=who).committed
        assert do_import(org, "invoices", INVOICES.encode(), actor=who).committed
        subscribed(org, who)
    report = do_import(bulk, "payments", PAYMENTS.encode(), actor=owner)
    assert report.committed and report.written == {"payments": 5}
    with tenant_context(by_hand, owner2):
        bank = {a.system_key: a for a in deposit_accounts(by_hand)}["bank"]
        numbers = dict(Invoice.objects.values_list("number", "pk"))
        for n, (code, day, amount, ref, allocation) in enumerate(ROWS):
            if isinstance(allocation, dict):
                allocation = {numbers[k]: Decimal(v) for k, v in allocation.items()}
            customer = Customer.objects.get(organization=by_hand, code=code)
            record_payment(by_hand, customer, amount=Decimal(amount), currency="EUR", received_date=day,
                           method="bank_transfer", deposit_account=bank, idempotency_key=f"hand{n:032d}", reference=ref,
                           allocation=allocation, actor=owner2)
    assert books(bulk) == books(by_hand)
    invoices, payments, allocations, balances, _entries, webhooks = books(bulk)
    assert [i[2] for i in invoices] == [0, Decimal(25), Decimal(45), 0]  # B-1
    assert ("R2", "A-3", Decimal("20.00"), date(2025, 3, 2)) in allocations
    assert ("R4", Decimal("45.00"), Decimal("30.00")) in payments
    assert webhooks.count("payment.recorded") == 5 and webhooks.count("invoice.paid") == 2
    with tenant_context(bulk):
        assert verify_organization(bulk).ok


def test_a_refusal_in_the_bulk_writer_imports_nothing(monkeypatch):
    """A customer archived between the checks and the write (the checks do not look): the writer's
    own rule refuses it and the whole file is rolled back."""
    from payments import bulk as bulk_module

    org, owner = make_org()
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    assert do_import(org, "invoices", INVOICES.encode(), actor=owner).committed
    real = bulk_module.record_many

    def archive_first(org_, items, actor=None):
        Customer.objects.filter(organization=org_, code="0043").update(archived_at="2025-01-01T00:00:00Z")
        for item in items:
            item.customer.refresh_from_db()
        return real(org_, items, actor=actor)

    monkeypatch.setattr("payments.importers.record_many", archive_first)
    report = do_import(org, "payments", PAYMENTS.encode(), actor=owner)
    assert not report.committed and "archived" in report.errors[0].message
    with tenant_context(org):
        assert Payment.objects.count() == 0 and Allocation.objects.count() == 0
        assert not JournalEntry.objects.filter(idempotency_key__startswith="payment:").exists()
        assert Invoice.objects.filter(amount_paid__gt=0).count() == 0


def test_the_bulk_writer_takes_each_customers_payment_lock():
    """The same per-customer advisory lock as record_payment (payments.services.lock_customer_payments),
    held by this transaction once the batch is written. Fails when the lock is removed."""
    from django.db import connection

    from payments import bulk
    from payments.services import _LOCK_NAMESPACE

    org, owner = make_org()
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    assert do_import(org, "invoices", INVOICES.encode(), actor=owner).committed
    with tenant_context(org, owner):
        bank = {a.system_key: a for a in deposit_accounts(org)}["bank"]
        customers = list(Customer.objects.filter(organization=org).order_by("code"))
        bulk.record_many(org, [bulk.PaymentIn(customer=c, amount=Decimal("1.00"), currency="EUR",
                                              received_date=date(2025, 3, 1), method="bank_transfer",
                                              deposit_account=bank, idempotency_key=f"lock{n:08d}")
                               for n, c in enumerate(customers)], actor=owner)
        with connection.cursor() as cursor:
            cursor.execute("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s "
                           "AND pid = pg_backend_pid() ORDER BY objid", [_LOCK_NAMESPACE])
            held = [row[0] for row in cursor.fetchall()]
    assert held == sorted(c.pk & 0x7FFFFFFF for c in customers)


def test_a_payment_of_an_archived_customer_is_reported_on_its_row_in_the_dry_run():
    org, owner = make_org()
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    assert do_import(org, "invoices", INVOICES.encode(), actor=owner).committed
    with tenant_context(org, owner):
        Customer.objects.filter(organization=org, code="0043").update(archived_at="2025-01-01T00:00:00Z")
    report = do_import(org, "payments", PAYMENTS.encode(), actor=owner, commit=False)
    assert [(e.row, e.column) for e in report.errors] == [(5, "customer_code")]
    assert "archived" in report.errors[0].message
