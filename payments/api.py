"""API operations on payments (ledger_site.api wires them): record with automatic or explicit
allocation, reverse, list, get. The rules are `payments.services`'; the payment's own
idempotency key derives from the request's `Idempotency-Key` (ledger_site.api_support.service_key)."""

from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Literal

from ninja import Query, Router, Schema
from pydantic import Field

from accounts.fx import rate_text
from accounts.models import Customer
from accounts.related_rows import has_kept
from ledger_site.api_support import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiError,
    DecimalStr,
    InputSchema,
    money,
    not_found,
    paginate,
    responses,
    service_key,
    write,
)
from payments import services
from payments.models import Allocation, Payment, PaymentMethod

router = Router(tags=["payments"])


class AllocationIn(InputSchema):
    invoice_id: int
    amount: DecimalStr


class PaymentIn(InputSchema):
    customer_id: int
    amount: DecimalStr
    currency: str = Field(pattern=r"^[A-Z]{3}$", description=(
        "The currency the money was received in. Another currency than the customer's is converted into "
        "the customer's when recorded: at `rate` if given, else at the day's cross rate through the base "
        "currency; the converted amount is what the payment credits and applies."))
    rate: DecimalStr | None = Field(None, description=(
        "Money in another currency only: units of the customer's currency per unit received. Checked "
        "against the day's cross rate; a rate far from it needs `confirm_rate`."))
    confirm_rate: bool = Field(False, description="Confirms a `rate` far from the day's cross rate.")
    received_date: date
    method: Literal[tuple(PaymentMethod.values)]  # type: ignore[valid-type]
    deposit_account: Literal["bank", "cash", "card"] = "bank"
    reference: str = Field("", max_length=100)
    notes: str = Field("", max_length=2000)
    allocation: Literal["auto", "none"] | list[AllocationIn] = Field(
        "auto", description='"auto": oldest due first; "none": all stays unapplied credit; or a list of '
                            "{invoice_id, amount}.")


class ReverseIn(InputSchema):
    reason: str = Field(min_length=1, max_length=500)
    effective_date: date | None = Field(None, description="Default: today.")


class RefundIn(InputSchema):
    amount: DecimalStr
    refund_date: date
    method: Literal[tuple(PaymentMethod.values)]  # type: ignore[valid-type]
    account: Literal["bank", "cash", "card"] = "bank"
    reference: str = Field("", max_length=100)
    notes: str = Field("", max_length=500)


class RefundOut(Schema):
    id: int
    payment_id: int
    customer_id: int
    amount: str
    currency: str
    refund_date: date
    method: str
    reference: str
    created_at: datetime
    paid_amount: str | None = None  # a payment received in another currency is paid back in it
    paid_currency: str | None = None
    conversion_rate: str | None = None  # units of `paid_currency` per unit of `currency`, the day's


class AllocationOut(Schema):
    invoice_id: int
    amount: str
    effective_date: date


class PaymentOut(Schema):
    id: int
    customer_id: int
    amount: str
    currency: str
    received_date: date
    method: str
    reference: str
    deposit_account: str
    amount_allocated: str
    amount_refunded: str
    unapplied: str
    reversed: bool
    reversed_at: datetime | None
    reversal_reason: str
    created_at: datetime
    allocations: list[AllocationOut]
    received_amount: str | None = None  # money received in another currency than the customer's
    received_currency: str | None = None
    conversion_rate: str | None = None  # units of `currency` per unit of `received_currency`
    fx_rate: str | None = None  # base currency per unit of `currency`, as posted


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str | None


def payment_out(p: Payment) -> PaymentOut:
    c = p.currency
    allocations = [AllocationOut(invoice_id=a.invoice_id, amount=money(a.amount, c), effective_date=a.effective_date)
                   for a in p.allocations.all()]
    return PaymentOut(
        id=p.pk, customer_id=p.customer_id, amount=money(p.amount, c), currency=c, received_date=p.received_date,
        method=p.method, reference=p.reference, deposit_account=p.deposit_account.system_key or "",
        amount_allocated=money(p.amount_allocated, c), amount_refunded=money(p.amount_refunded, c),
        unapplied=money(p.unapplied, c), reversed=p.reversed_at is not None, reversed_at=p.reversed_at,
        reversal_reason=p.reversal_reason, created_at=p.created_at, allocations=allocations,
        received_amount=money(p.received_amount, p.received_currency) if p.received_currency else None,
        received_currency=p.received_currency or None,
        conversion_rate=rate_text(p.cross_rate) if p.cross_rate is not None else None,
        fx_rate=rate_text(p.fx_rate) if p.fx_rate is not None else None,
    )


def _payments(request):
    return (Payment.objects.filter(organization=request.org).select_related("deposit_account")
            .prefetch_related(_allocations()))


def _allocations():
    from django.db.models import Prefetch

    return Prefetch("allocations", queryset=Allocation.objects.order_by("pk"))


def _fresh(payment_id: int) -> PaymentOut:
    return payment_out(Payment.objects.select_related("deposit_account").prefetch_related(_allocations())
                       .get(pk=payment_id))


@router.get("/payments", response=responses(200, PaymentPage), summary="List payments")
def list_payments(request, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
                  customer_id: int | None = None, received_from: date | None = None, received_to: date | None = None):
    payments = _payments(request)
    if customer_id is not None:
        payments = payments.filter(customer_id=customer_id)
    if received_from is not None:
        payments = payments.filter(received_date__gte=received_from)
    if received_to is not None:
        payments = payments.filter(received_date__lte=received_to)
    return paginate(payments, cursor, limit, payment_out)


@router.get("/payments/{payment_id}", response=responses(200, PaymentOut), summary="Get a payment")
def get_payment(request, payment_id: int):
    payment = _payments(request).filter(pk=payment_id).first()
    if payment is None:
        raise not_found("payment")
    return payment_out(payment)


@router.post("/payments", response=responses(201, PaymentOut), summary="Record a payment")
@write(one_service=True)
def record(request, payload: PaymentIn):
    """Posts Dr Bank/Cash/Card clearing, Cr AR (customer) and applies the money as asked."""
    org = request.org
    customer = Customer.objects.filter(organization=org, pk=payload.customer_id).first()
    if customer is None:
        raise ApiError(422, "not_found", "No such customer.", "customer_id")
    account = services.deposit_accounts(org).filter(system_key=payload.deposit_account).first()
    if isinstance(payload.allocation, list):
        allocation: dict | str = {}
        for n, item in enumerate(payload.allocation):
            if item.invoice_id in allocation:
                raise ApiError(422, "duplicate", "Each invoice once.", f"allocation.{n}.invoice_id")
            allocation[item.invoice_id] = Decimal(item.amount)
    else:
        allocation = payload.allocation
    payment = services.record_payment(
        org, customer, amount=Decimal(payload.amount), currency=payload.currency,
        received_date=payload.received_date, method=payload.method, deposit_account=account,
        idempotency_key=service_key(request, "payment"), reference=payload.reference, notes=payload.notes,
        actor=request.actor, allocation=allocation,
        rate=None if payload.rate is None else Decimal(payload.rate), confirm_rate=payload.confirm_rate)
    # The answer from what was written (record_payment returns the row with its allocations), not
    # read back; a retry the service recognised returns the stored payment, read whole.
    return 201, partial(payment_out, payment) if has_kept(payment, "allocations") else partial(_fresh, payment.pk)


@router.post("/payments/{payment_id}/reverse", response=responses(200, PaymentOut),
             summary="Reverse a bounced or mistaken payment")
@write
def reverse(request, payment_id: int, payload: ReverseIn):
    """Un-applies it (the invoices reopen) and posts the mirror image of the receipt. Once only."""
    payment = Payment.objects.filter(organization=request.org, pk=payment_id).first()
    if payment is None:
        raise not_found("payment")
    services.reverse_payment(payment, reason=payload.reason, actor=request.actor,
                             effective_date=payload.effective_date)
    return 200, partial(_fresh, payment.pk)


@router.post("/payments/{payment_id}/refunds", response=responses(201, RefundOut),
             summary="Refund part or all of a payment's unapplied amount")
@write
def refund(request, payment_id: int, payload: RefundIn):
    """Posts Dr AR (customer), Cr the account paid from. A payment received in another currency than the
    customer's is paid back in that currency at the day's rate (`paid_amount`, `paid_currency`); the
    exchange difference against what the receipt booked is realized in the same entry."""
    payment = Payment.objects.filter(organization=request.org, pk=payment_id).first()
    if payment is None:
        raise not_found("payment")
    account = services.deposit_accounts(request.org).filter(system_key=payload.account).first()
    done = services.refund_payment(payment, amount=Decimal(payload.amount), refund_date=payload.refund_date,
                                   method=payload.method, account=account,
                                   idempotency_key=service_key(request, "refund"), reference=payload.reference,
                                   notes=payload.notes, actor=request.actor)
    c = done.currency
    return 201, RefundOut(id=done.pk, payment_id=done.payment_id, customer_id=done.customer_id,
                          amount=money(done.amount, c), currency=c, refund_date=done.refund_date, method=done.method,
                          reference=done.reference, created_at=done.created_at,
                          **({"paid_amount": money(done.paid_amount, done.paid_currency),
                              "paid_currency": done.paid_currency, "conversion_rate": rate_text(done.cross_rate)}
                             if done.paid_currency else {}))
