"""Helpers for payment tests: record payments the way the product does, and check the invariants."""

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger_verify import verify_organization
from accounts.models import Customer, CustomerBalance, JournalLine, LedgerHead
from invoicing.models import CreditNote, Invoice, InvoiceStatus
from payments.models import Allocation, Payment
from payments.services import record_payment


def key() -> str:
    return uuid.uuid4().hex


def pay(org, customer, amount, *, allocation="auto", account="bank", method="bank_transfer", reference="",
        received_date=None, actor=None, idempotency_key=None, currency=None):
    return record_payment(
        org, customer, amount=Decimal(amount), currency=currency or customer.currency,
        received_date=received_date or date.today(), method=method, reference=reference,
        deposit_account=system_accounts(org)[account], idempotency_key=idempotency_key or key(), actor=actor,
        allocation=allocation,
    )


def entry_lines(entry_id, org):
    """{system key: amount} of an entry's lines (plus the customer on the AR line)."""
    by_id = {a.pk: k for k, a in system_accounts(org).items()}
    return {(by_id[li.account_id], li.customer_id): li.amount
            for li in JournalLine.objects.filter(entry_id=entry_id).order_by("line_no")}


def snapshot(org):
    """Everything a refused action must leave unchanged."""
    return {
        "payments": list(Payment.objects.filter(organization=org).order_by("pk").values_list(
            "pk", "amount_allocated", "amount_refunded", "reversed_at")),
        "allocations": Allocation.objects.filter(organization=org).count(),
        "invoices": list(Invoice.objects.filter(organization=org).order_by("pk").values_list(
            "pk", "amount_paid", "amount_credited", "amount_due")),
        "notes": list(CreditNote.objects.filter(organization=org).order_by("pk").values_list("pk", "amount_applied")),
        "balances": list(CustomerBalance.objects.filter(organization=org).order_by("pk").values_list("pk", "amount")),
        "head": LedgerHead.objects.get(organization=org).last_seq,
    }


def check_invariants(org):
    """DESIGN.md invariants 3-5 from the payments side, plus verify_ledger's own checks."""
    result = verify_organization(org)
    assert result.ok, result.problems[:5]
    acc = system_accounts(org)
    for payment in Payment.objects.filter(organization=org):
        applied = Allocation.objects.filter(payment=payment).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        assert applied == payment.amount_allocated, payment
        assert 0 <= applied <= payment.amount - payment.amount_refunded, payment
        if payment.reversed_at:
            assert applied == 0 and payment.reversal_entry_id
    for invoice in Invoice.objects.filter(organization=org).exclude(status=InvoiceStatus.DRAFT):
        paid = Allocation.objects.filter(invoice=invoice, payment__isnull=False).aggregate(s=Sum("amount"))["s"] or 0
        credited = Allocation.objects.filter(invoice=invoice, credit_note__isnull=False).aggregate(
            s=Sum("amount"))["s"] or 0
        assert (invoice.amount_paid, invoice.amount_credited) == (paid, credited), invoice
        if invoice.status == InvoiceStatus.ISSUED:
            assert invoice.amount_due == invoice.total - paid - credited - invoice.amount_written_off >= 0
    for note in CreditNote.objects.filter(organization=org):
        applied = Allocation.objects.filter(credit_note=note).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        assert applied == note.amount_applied <= note.total
    per_currency = defaultdict(Decimal)
    for customer in Customer.objects.filter(organization=org):
        open_due = Invoice.objects.filter(customer=customer, status=InvoiceStatus.ISSUED).aggregate(
            s=Sum("amount_due"))["s"] or Decimal(0)
        unapplied = sum((p.unapplied for p in Payment.objects.filter(customer=customer)), Decimal(0))
        unapplied += sum((n.unapplied for n in CreditNote.objects.filter(customer=customer)), Decimal(0))
        balance = ledger.customer_balance(customer)
        assert balance == open_due - unapplied, (customer, balance, open_due, unapplied)
        per_currency[customer.currency] += balance
    for currency, total in per_currency.items():
        assert ledger.account_balance(acc["ar"], currency=currency) == total
