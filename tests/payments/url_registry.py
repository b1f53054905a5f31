"""How the URL × role matrix (tests/urlmatrix.py) builds and posts the payments pages."""

import uuid
from decimal import Decimal

from django.utils import timezone

from accounts.chart import system_accounts
from ledger_site.tenancy import tenant_context
from tests.invoicing_helpers import issued
from tests.urlmatrix import register_object, register_url


def _key():
    return uuid.uuid4().hex


def _today():
    return timezone.localdate().isoformat()


@register_object("pay_payment")
def _payment(world):
    """A payment left unapplied (so it can be applied, refunded and reversed)."""
    from tests.payments.helpers import pay

    return pay(world.org, world.get("customer"), "50.00", allocation="none", reference="MATRIX-1", actor=world.owner)


@register_object("pay_short_payment")
def _short_payment(world):
    """A payment 2.00 short of the invoice it paid: the rest can be booked as a discount or a bank fee."""
    from tests.payments.helpers import pay

    invoice = issued(world.org, world.get("customer"), [("Work", "1", "100.00", None)], actor=world.owner)
    payment = pay(world.org, world.get("customer"), "98.00", allocation={invoice.pk: Decimal("98.00")},
                  reference="MATRIX-SHORT", actor=world.owner)
    payment.short_invoice_id = invoice.pk
    return payment


@register_object("pay_open_invoice")
def _open_invoice(world):
    return issued(world.org, world.get("customer"), [("Work", "1", "100.00", None)], actor=world.owner)


@register_object("pay_allocation")
def _allocation(world):
    from payments.allocation import apply

    return apply(world.get("pay_open_invoice"), world.get("pay_payment"), Decimal("10.00"), actor=world.owner)


@register_object("pay_credit_note")
def _credit_note(world):
    from invoicing.credit_notes import credit_amount

    return credit_amount(world.get("customer"), Decimal("7.00"), "goodwill", actor=world.owner)


def payment_form(world):
    with tenant_context(world.org):
        bank = system_accounts(world.org)["bank"]
    return {"action": "save", "customer": world.get("customer").pk, "amount": "12.50", "currency": "EUR",
            "received_date": _today(), "method": "bank_transfer", "deposit_account": bank.pk,
            "reference": "POSTED", "notes": "", "mode": "auto", "idempotency_key": _key()}


def _apply_form(world):
    world.get("pay_open_invoice")
    return {"action": "save", "mode": "auto", "idempotency_key": _key()}


def refund_form(world):
    with tenant_context(world.org):
        bank = system_accounts(world.org)["bank"]
    return {"amount": "5.00", "refund_date": _today(), "method": "bank_transfer", "account": bank.pk,
            "reference": "RF", "notes": "", "idempotency_key": _key()}


def _apply_credit_form(world):
    world.get("pay_payment")
    return {"idempotency_key": _key(), "next": ""}


register_url("payment_create", post=payment_form)
register_url("payment_detail", pk="pay_payment")
register_url("payment_apply", pk="pay_payment", post=_apply_form)
register_url("payment_refund", pk="pay_payment", post=refund_form)
register_url("payment_reverse", pk="pay_payment",
             post=lambda w: {"reason": "bounced", "effective_date": _today(), "idempotency_key": _key()})
register_url("payment_receipt", pk="pay_payment")
register_url("payment_settle_short", pk="pay_short_payment",
             post=lambda w: {"invoice": w.get("pay_short_payment").short_invoice_id, "kind": "bank_fee",
                             "reason": "their bank's fee"})
register_url("allocation_unapply", pk="pay_allocation",
             post=lambda w: {"reason": "wrong invoice", "idempotency_key": _key()})
register_url("credit_note_apply", pk="pay_credit_note", post=_apply_form)
register_url("invoice_apply_credit", pk="pay_open_invoice", post=_apply_credit_form)


# "Export selected": a CSV of the ticked payments, changes nothing.
register_url("payment_bulk", methods=["POST"], post_changes=False,
             post=lambda w: {"export": "1", "ids": [w.get("pay_payment").pk]})
