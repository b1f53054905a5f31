"""Late fees: their own document, posted once per invoice and schedule point.

A fee is an Invoice of kind "late_fee" that points at the overdue invoice (related_invoice), with
one line, issued through invoicing.services.issue_invoice: it gets a number from the late-fee
series and posts AR (customer) debit / late-fee income credit. The overdue invoice itself is never
edited. The fee is then aged and paid like any invoice.

Idempotent per (invoice, point): the overdue invoice is locked, an existing LateFeeCharge is
returned as is, and a unique constraint on (invoice, offset) backs that up; the ledger posting
has its own idempotency key besides.

Rule: a fee is charged only together with the reminder that announces it (reminders/outbox.py
posts it in the transaction that marks the message sent). A point skipped by the catch-up rule,
cancelled by a hold, or never sendable (no e-mail address) charges nothing.

Currency: a policy's amounts are in the organization's base currency; an invoice in another
currency gets its reminder but no fee (currency_mismatch says why, the outbox records it).
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.money import round_money
from invoicing.models import Invoice, InvoiceKind, InvoiceLine
from invoicing.services import issue_invoice, new_draft, recompute_totals
from reminders.models import FeeType, LateFeeCharge


def currency_mismatch(fee_type: str, currency: str, base_currency: str) -> str | None:
    """Why a step's fee cannot be charged on an invoice in `currency`, or None if it can.

    A policy's amounts (the fixed fee, a percentage's cap) are in the organization's base
    currency. There are no exchange rates, so on an invoice in another currency a fixed fee has
    no amount, and a percentage fee could only be charged without its cap (which the policy
    promises) or with the cap read in the wrong currency: in both cases no fee is charged."""
    if fee_type == FeeType.NONE or currency == base_currency:
        return None
    return _("No late fee: the policy's fee is in %(base)s and this invoice is in %(currency)s.") % {
        "base": base_currency, "currency": currency}


def fee_amount(fee_type: str, value: Decimal | None, cap: Decimal | None, amount_due: Decimal,
               currency: str, base_currency: str) -> Decimal:
    """The fee for an amount due in `currency`, rounded once to its minor unit (accounts.money rule).
    Zero on an invoice in another currency than the policy's (base_currency): see currency_mismatch."""
    if currency_mismatch(fee_type, currency, base_currency):
        return Decimal(0)
    if fee_type == FeeType.FIXED and value:
        return round_money(value, currency)
    if fee_type == FeeType.PERCENT and value:
        fee = round_money(amount_due * value / Decimal(100), currency)
        if cap is not None:
            fee = min(fee, round_money(cap, currency))
        return fee
    return Decimal(0)


@transaction.atomic
def charge_late_fee(invoice: Invoice, offset_days: int, amount: Decimal, on: date, actor=None) -> LateFeeCharge:
    """Issue the late-fee document for (invoice, offset) unless it exists; return its charge row."""
    invoice = Invoice.objects.select_for_update().select_related("customer", "organization").get(pk=invoice.pk)
    existing = LateFeeCharge.objects.filter(invoice=invoice, offset_days=offset_days).first()
    if existing is not None:
        return existing
    draft = new_draft(invoice.organization, invoice.customer, actor=actor, kind=InvoiceKind.LATE_FEE,
                      related_invoice=invoice, issue_date=on, due_date=on, terms="", notes="",
                      reference=invoice.number or "")
    days = (on - invoice.due_date).days
    InvoiceLine.objects.create(
        organization=invoice.organization, invoice=draft, position=1, quantity=Decimal(1), unit_price=amount,
        description=_("Late fee on invoice %(number)s (%(days)s days overdue)") % {"number": invoice.number,
                                                                                   "days": days},
    )
    recompute_totals(draft)
    fee_invoice = issue_invoice(draft, actor=actor)
    return LateFeeCharge.objects.create(organization=invoice.organization, invoice=invoice,
                                        offset_days=offset_days, fee_invoice=fee_invoice, amount=fee_invoice.total)
