"""Demo payments for `manage.py seed_demo`: a year of customers paying the demo invoices.

Runs after the invoicing hook (payments loads after invoicing in INSTALLED_APPS, so its
ready() appends later). Deterministic (one seeded random.Random); everything goes through the
real services, dated when the money arrived: most invoices paid in full (some late), some in
part, a few overpaid (leaving unapplied credit), one refund, one cheque that bounced and was
reversed, one advance payment before any invoice. Invoices on dispute hold and recent ones
stay open, so the aging report and the reminders have work.
"""

import random
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.chart import system_accounts
from accounts.models import Customer
from accounts.models_org import today_in
from invoicing.models import Invoice
from payments.models import PaymentMethod
from payments.services import NONE, record_payment, refund_payment, reverse_payment

SEED = 20240612
DEPOSIT = {PaymentMethod.BANK_TRANSFER: "bank", PaymentMethod.CHEQUE: "bank", PaymentMethod.CARD: "card",
           PaymentMethod.CASH: "cash"}


def _at(day, hour=14):
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _reference(rng, method, day):
    if method == PaymentMethod.CHEQUE:
        return f"CHQ-{rng.randint(100000, 999999)}"
    if method == PaymentMethod.CARD:
        return f"CARD-{rng.randint(1000, 9999)}-{day:%m%d}"
    if method == PaymentMethod.CASH:
        return f"CASH-{day:%y%m%d}"
    return f"TRX-{rng.randint(10**7, 10**8 - 1)}"


def seed_demo_payments(org, owner) -> dict:
    rng = random.Random(SEED)
    today = today_in(org)
    acc = system_accounts(org)
    counts = {"payments": 0, "partial": 0, "overpaid": 0, "late": 0, "refunds": 0, "reversed": 0}
    invoices = list(Invoice.objects.filter(organization=org).open()
                    .select_related("customer").order_by("issue_date", "pk"))
    overpaid, cheques = [], []

    def pay(invoice, amount, day, method, apply_amount, late=False):
        payment = record_payment(
            org, invoice.customer, amount=amount, currency=invoice.currency, received_date=day, method=method,
            deposit_account=acc[DEPOSIT[method]], reference=_reference(rng, method, day),
            idempotency_key=uuid.UUID(int=rng.getrandbits(128)).hex, actor=owner,
            allocation={invoice.pk: apply_amount} if apply_amount else NONE, at=_at(day, rng.randint(9, 17)),
            notes="Paid late after a reminder" if late else "",
        )
        counts["payments"] += 1
        if method == PaymentMethod.CHEQUE:
            cheques.append((payment, invoice))
        return payment

    for invoice in invoices:
        if invoice.is_disputed or invoice.customer.is_archived:
            continue
        terms = (invoice.due_date - invoice.issue_date).days
        roll = rng.random()
        method = rng.choices([PaymentMethod.BANK_TRANSFER, PaymentMethod.CARD, PaymentMethod.CHEQUE,
                              PaymentMethod.CASH], weights=[70, 15, 10, 5])[0]
        if roll < 0.62:  # paid in full: usually within terms, sometimes late
            late = rng.random() < 0.3
            delay = terms + rng.randint(3, 45) if late else rng.randint(max(1, terms // 3), max(2, terms))
            day = invoice.issue_date + timedelta(days=delay)
            if day > today:
                continue
            pay(invoice, invoice.amount_due, day, method, invoice.amount_due, late=late)
            counts["late"] += late
        elif roll < 0.74:  # paid in part; some settle the rest later
            day = invoice.issue_date + timedelta(days=rng.randint(max(1, terms // 2), terms + 20))
            if day > today:
                continue
            part = (invoice.amount_due * Decimal(rng.choice([30, 40, 50, 60, 70])) / 100).quantize(Decimal(1))
            if part <= 0:
                continue
            pay(invoice, part, day, method, part)
            counts["partial"] += 1
            rest_day = day + timedelta(days=rng.randint(20, 60))
            if rng.random() < 0.5 and rest_day <= today:
                rest = invoice.amount_due - part
                pay(invoice, rest, rest_day, PaymentMethod.BANK_TRANSFER, rest)
        elif roll < 0.79:  # overpaid: rounded up, the difference stays as credit
            day = invoice.issue_date + timedelta(days=rng.randint(5, max(6, terms)))
            if day > today:
                continue
            amount = (invoice.amount_due / 50).to_integral_value(rounding="ROUND_CEILING") * 50
            if amount == invoice.amount_due:
                amount += 50
            overpaid.append(pay(invoice, amount, day, PaymentMethod.BANK_TRANSFER, invoice.amount_due))
            counts["overpaid"] += 1
        # else: still open (recent, or simply not paid yet)

    if overpaid:  # one customer asked for its overpayment back
        payment = overpaid[0]
        day = min(today, payment.received_date + timedelta(days=12))
        refund_payment(payment, amount=payment.unapplied, refund_date=day, method=PaymentMethod.BANK_TRANSFER,
                       account=acc["bank"], reference="REFUND-001",
                       notes="Overpayment returned at the customer's request", actor=owner,
                       idempotency_key=uuid.UUID(int=rng.getrandbits(128)).hex)
        counts["refunds"] += 1
    bounceable = [(p, i) for p, i in cheques if 45 <= (today - p.received_date).days <= 150]
    if bounceable:  # a cheque that bounced: the invoice is open (overdue) again
        payment, invoice = bounceable[len(bounceable) // 2]
        day = payment.received_date + timedelta(days=5)
        reverse_payment(payment, reason="Cheque returned unpaid: insufficient funds", actor=owner,
                        effective_date=day, at=_at(day, 11))
        counts["reversed"] += 1
    advance = Customer.objects.filter(organization=org, archived_at__isnull=True).exclude(
        pk__in=[i.customer_id for i in invoices]).order_by("code").first()
    if advance is not None:  # a deposit before any invoice: unapplied credit, applied when invoiced
        day = today - timedelta(days=6)
        record_payment(org, advance, amount=Decimal("1500.00"), currency=advance.currency, received_date=day,
                       method=PaymentMethod.BANK_TRANSFER, deposit_account=acc["bank"], reference="DEPOSIT-2026",
                       idempotency_key=uuid.UUID(int=rng.getrandbits(128)).hex, actor=owner, allocation=NONE,
                       notes="Advance payment for the spring project", at=_at(day))
        counts["payments"] += 1
    return counts


def seed_demo_cross_currency(org, owner) -> dict:
    """Issue 17: the dollar customer pays its oldest open invoice in euros, at the day's cross rate (the
    payment page shows what was received and the conversion; the allocation realizes the exchange
    difference); then the revaluation of last month's end is posted, with its reversal."""
    from accounts import fx, revaluation
    from accounts.money import round_money

    customer = Customer.objects.filter(organization=org, currency="USD").order_by("pk").first()
    invoice = (Invoice.objects.filter(organization=org, customer=customer).open().order_by("issue_date", "pk").first()
               if customer else None)
    if invoice is None:
        return {"cross_currency_payments": 0}
    today = today_in(org)
    day = max(invoice.issue_date, today - timedelta(days=12))
    while day.weekday() >= 5:  # a working day, when the demo's reference rates are published
        day -= timedelta(days=1)
    euros = round_money(invoice.amount_due * fx.rate_on(org, "USD", day), org.base_currency)
    record_payment(org, customer, amount=euros, currency=org.base_currency, received_date=max(day, invoice.issue_date),
                   method=PaymentMethod.BANK_TRANSFER, deposit_account=system_accounts(org)["bank"],
                   reference="SEPA EUR for USD invoice", idempotency_key=uuid.uuid4().hex, actor=owner)
    # A deposit sent in euros by mistake, paid back in euros (the refund day's rate, the difference realized).
    deposit = record_payment(org, customer, amount=Decimal("50.00"), currency=org.base_currency, received_date=day,
                             method=PaymentMethod.BANK_TRANSFER, deposit_account=system_accounts(org)["bank"],
                             reference="EUR deposit sent by mistake", idempotency_key=uuid.uuid4().hex, actor=owner,
                             allocation=NONE)
    refund_payment(deposit, amount=deposit.unapplied, refund_date=day, method=PaymentMethod.BANK_TRANSFER,
                   account=system_accounts(org)["bank"], idempotency_key=uuid.uuid4().hex,
                   reference="Returned in EUR", actor=owner)
    month_end = today.replace(day=1) - timedelta(days=1)
    try:
        revaluation.post(org, month_end, actor=owner)
        revalued = 1
    except revaluation.RevaluationError:
        revalued = 0
    return {"cross_currency_payments": 1, "cross_currency_refunds": 1, "revaluations": revalued}
