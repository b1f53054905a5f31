"""Histories for report tests, made through the real services (invoicing, credit notes, payments),
and the literal as-of definition computed in Python from the rows, to compare the SQL with."""

import itertools
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.chart import system_accounts
from invoicing.models import CreditNote, Invoice, WriteOff
from payments.models import Allocation, Payment, Refund
from tests.invoicing_helpers import issued

_keys = itertools.count(1)


def today() -> date:
    return timezone.localdate()


def ago(days: int) -> date:
    return today() - timedelta(days=days)


def key(prefix="k") -> str:
    return f"{prefix}-test-{next(_keys):08d}"


def invoice(org, customer, amount, issue: date, due: date | None = None, actor=None):
    """An issued invoice of exactly `amount` (one untaxed line)."""
    return issued(org, customer, lines=(("Work", "1", str(amount), None),), actor=actor,
                  issue_date=issue, due_date=due or issue + timedelta(days=30))


def pay(org, customer, amount, received: date, allocation="none", actor=None):
    from payments.services import record_payment

    if isinstance(allocation, dict):
        allocation = {getattr(k, "pk", k): Decimal(v) for k, v in allocation.items()}
    return record_payment(org, customer, amount=Decimal(amount), currency=customer.currency, received_date=received,
                          method="bank_transfer", deposit_account=system_accounts(org)["bank"],
                          idempotency_key=key("pay"), allocation=allocation, actor=actor)


def apply_later(source, invoice, amount, when: date):
    from payments.services import apply_source

    return apply_source(source, {invoice.pk: Decimal(amount)}, effective_date=when)


def unapply(allocation, when: date):
    from payments.allocation import unapply as do_unapply

    return do_unapply(allocation, "applied to the wrong invoice", effective_date=when)


def refund(payment, amount, when: date):
    from payments.services import refund_payment

    return refund_payment(payment, amount=Decimal(amount), refund_date=when, method="bank_transfer",
                          account=system_accounts(payment.organization)["bank"], idempotency_key=key("ref"))


def reverse(payment, when: date):
    from payments.services import reverse_payment

    return reverse_payment(payment, reason="bounced", effective_date=when)


def credit(invoice_or_customer, amount, when: date):
    from invoicing.credit_notes import credit_amount

    if isinstance(invoice_or_customer, Invoice):
        return credit_amount(invoice_or_customer.customer, Decimal(amount), "returned goods",
                             invoice=invoice_or_customer, issue_date=when)
    return credit_amount(invoice_or_customer, Decimal(amount), "goodwill", issue_date=when)


def write_off(invoice, amount, when: date):
    from invoicing.services import write_off as do_write_off

    return do_write_off(invoice, Decimal(amount), "uncollectible", effective_date=when)


def void(invoice, when: date):
    from invoicing.services import void_invoice

    return void_invoice(invoice, "issued in error", effective_date=when)


# --- the literal definition, in Python ---------------------------------------------------------

def reference_items(org, as_of: date) -> dict[tuple[str, int], Decimal]:
    """{(kind, id): amount} of every nonzero item as of the date, straight from the definition."""
    out = {}
    allocs = defaultdict(Decimal)
    for a in Allocation.objects.filter(organization=org, effective_date__lte=as_of):
        allocs[("i", a.invoice_id)] += a.amount
        if a.payment_id:
            allocs[("p", a.payment_id)] += a.amount
        else:
            allocs[("c", a.credit_note_id)] += a.amount
    written = defaultdict(Decimal)
    for w in WriteOff.objects.filter(organization=org, effective_date__lte=as_of):
        written[w.invoice_id] += w.amount
    refunded = defaultdict(Decimal)
    for r in Refund.objects.filter(organization=org, refund_date__lte=as_of):
        refunded[r.payment_id] += r.amount
    for inv in Invoice.objects.filter(organization=org).exclude(status="draft").select_related("void_entry"):
        live = inv.issue_date <= as_of and not (inv.void_entry and inv.void_entry.effective_date <= as_of)
        amount = (inv.total if live else Decimal(0)) - allocs[("i", inv.pk)] - written[inv.pk]
        if amount:
            out[("i", inv.pk)] = amount
    for p in Payment.objects.filter(organization=org).select_related("reversal_entry"):
        live = p.received_date <= as_of and not (p.reversal_entry and p.reversal_entry.effective_date <= as_of)
        amount = (p.amount if live else Decimal(0)) - allocs[("p", p.pk)] - refunded[p.pk]
        if amount:
            out[("p", p.pk)] = amount
    for c in CreditNote.objects.filter(organization=org):
        amount = (c.total if c.issue_date <= as_of else Decimal(0)) - allocs[("c", c.pk)]
        if amount:
            out[("c", c.pk)] = amount
    return out
