"""Many payments at once (the payments import): what `services.record_payment` does for one,
written set-based.

    record_many(org, [PaymentIn(...), ...], actor=user)   # inside the caller's transaction

For every payment, in the order given, the same rules as the payment screen's door: the
customer's currency, not archived, the deposit account one of Bank / Cash / Card clearing, the
method, an amount with the currency's decimals, the allocation (oldest due first, none, or
{invoice id: amount} of the same customer's open invoices, never more than an invoice owes or the
payment has). The amounts each invoice still owes are followed in memory through the batch, so
payment n sees what payments 1..n-1 applied, exactly as n calls of record_payment would.

Then, instead of some fourteen statements per payment: one advisory-lock statement for all the
customers and one locking read of all the invoices touched (the lock order of record_payment:
customers, invoices, ledger head), the journal entries through the ledger's bulk door
(accounts.ledger_bulk, the same entry record_payment posts: Dr deposit account / Cr AR, its key
`payment:<key>`, memo and source), payments, allocations and the invoices' timeline events by
COPY (accounts.imports.copy), the invoices' maintained amounts through invoicing.amounts (one
statement; "invoice.paid" is emitted there), "payment.recorded" per payment; the webhooks' outbox
rows of all those events in one insert (invoicing.hooks.batched). A payment's
allocated amount is written with the row, as the sum of the allocations written with it.

Any refusal raises PaymentError / AllocationError (a ValidationError) before anything is written.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.chart import system_accounts
from accounts.imports.copy import copy_insert
from accounts.ledger import Line
from accounts.ledger_bulk import BulkEntry, bulk_post
from accounts.models import Account, Customer
from accounts.money import format_money
from invoicing import hooks
from invoicing.amounts import change_invoice_amounts
from invoicing.models import Invoice, InvoiceEvent, InvoiceStatus
from payments.allocation import AllocationError
from payments.models import Allocation, Payment
from payments.services import (
    _LOCK_NAMESPACE,
    AUTO,
    NONE,
    PaymentError,
    _check_account,
    _check_method,
    _check_money,
    _check_not_future,
    auto_amounts,
    check_key,
    payment_data,
)

ZERO = Decimal(0)


@dataclass
class PaymentIn:
    customer: Customer
    amount: Decimal
    currency: str
    received_date: date
    method: str
    deposit_account: Account
    idempotency_key: str
    reference: str = ""
    allocation: object = AUTO  # AUTO, NONE or {invoice id: Decimal}


PAYMENT_COLUMNS = ["id", "organization", "customer", "amount", "currency", "received_date", "method", "reference",
                   "deposit_account", "notes", "entry", "amount_allocated", "amount_refunded", "reversal_reason",
                   "idempotency_key", "created_at", "created_by",
                   # received in the account's own currency: the conversion fields empty (payments.models)
                   "received_currency"]
ALLOCATION_COLUMNS = ["organization", "invoice", "payment", "amount", "reason", "effective_date", "created_at",
                      "created_by"]


def record_many(org, items: list[PaymentIn], *, actor=None) -> list[Payment]:
    """Record the payments (none of whose keys may be used yet) with their allocations."""
    if not items:
        return []
    customers = sorted({p.customer.pk for p in items})
    with connection.cursor() as cursor:  # record_payment's per-customer lock, for all of them in one go
        cursor.execute("SELECT pg_advisory_xact_lock(%s, (c & 2147483647)::int) FROM unnest(%s::bigint[]) AS c "
                       "ORDER BY c", [_LOCK_NAMESPACE, customers])
    auto_customers = {p.customer.pk for p in items if p.allocation == AUTO}
    explicit = {int(i) for p in items if isinstance(p.allocation, dict) for i in p.allocation}
    invoices = _lock_invoices(org, auto_customers, explicit)
    open_by_customer = defaultdict(list)
    for invoice in sorted(invoices.values(), key=lambda i: (i.due_date, i.issue_date, i.pk)):
        if invoice.customer_id in auto_customers and invoice.is_open:
            open_by_customer[invoice.customer_id].append(invoice)
    due = {pk: invoice.amount_due for pk, invoice in invoices.items()}
    before = dict(due)
    today = org.today()
    ids = _next_ids(len(items))
    acc = system_accounts(org)
    now = timezone.now()
    payments, entries, allocations, events, paid = [], [], [], [], defaultdict(Decimal)
    for pk, p in zip(ids, items, strict=True):
        amounts = _allocate(org, p, invoices, open_by_customer, due, today)
        key = check_key(p.idempotency_key)
        label = p.reference or f"#{pk}"
        entries.append(BulkEntry([Line(p.deposit_account, p.amount, currency=p.currency),
                                  Line(acc["ar"], -p.amount, p.customer)],
                                 effective_date=p.received_date, idempotency_key=f"payment:{key}",
                                 memo=f"Payment {label} from {p.customer.name}"[:500],
                                 source=("payments.payment", pk), source_label=label[:100]))
        payment = Payment(pk=pk, organization=org, customer=p.customer, amount=p.amount, currency=p.currency,
                          received_date=p.received_date, method=p.method, reference=p.reference,
                          deposit_account=p.deposit_account, notes="", idempotency_key=key, created_by=actor,
                          created_at=now, amount_allocated=sum(amounts.values(), ZERO), amount_refunded=ZERO,
                          reversal_reason="")
        payments.append(payment)
        what = _("payment %(ref)s") % {"ref": p.reference or f"#{pk}"}
        for invoice_id, amount in amounts.items():
            allocations.append(Allocation(organization=org, invoice_id=invoice_id, payment=payment, amount=amount,
                                          reason="", effective_date=p.received_date, created_at=now,
                                          created_by=actor))
            events.append(InvoiceEvent(organization=org, invoice_id=invoice_id, kind="payment_applied", actor=actor,
                                       at=now, message=(_("%(amount)s applied from %(what)s")
                                                        % {"amount": format_money(amount, p.currency),
                                                           "what": what})[:500]))
            paid[invoice_id] += amount
    result = bulk_post(org, entries, actor=actor, collect_ids=True)
    if result.skipped:
        raise PaymentError(_("Some of these payments were recorded meanwhile; nothing was imported. Run it again."))
    for payment, entry in zip(payments, entries, strict=True):
        payment.entry_id = result.entry_ids[entry.idempotency_key]
    copy_insert(Payment, payments, PAYMENT_COLUMNS)
    copy_insert(Allocation, allocations, ALLOCATION_COLUMNS)
    copy_insert(InvoiceEvent, events, ["organization", "invoice", "at", "kind", "message", "actor"])
    for pk, amount in before.items():
        invoices[pk].amount_due = amount  # as read: invoicing.amounts sees each invoice's change as a whole
    with hooks.batched():  # the webhooks' outbox rows in one insert ("invoice.paid" from amounts, too)
        change_invoice_amounts((invoices[pk], {"amount_paid": amount}) for pk, amount in sorted(paid.items()))
        for payment in payments:
            hooks.emit(org.pk, "payment.recorded", payment_data(payment))
    return payments


def _lock_invoices(org, auto_customers, explicit) -> dict[int, Invoice]:
    """The invoices the batch may touch, locked in primary-key order in one statement: the explicit
    ones, and every open invoice of a customer paid "oldest first"."""
    from django.db.models import Q

    from invoicing.models import OPEN_Q

    wanted = Q(pk__in=sorted(explicit)) | (Q(customer_id__in=sorted(auto_customers)) & OPEN_Q)
    rows = Invoice.objects.select_for_update(of=("self",)).filter(wanted, organization_id=org.pk).order_by("pk")
    return {invoice.pk: invoice for invoice in rows}


def _next_ids(n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('payments_payment', 'id')) FROM generate_series(1, %s)",
                       [n])
        return [row[0] for row in cursor.fetchall()]


def _allocate(org, p: PaymentIn, invoices, open_by_customer, due, today) -> dict[int, Decimal]:
    customer = p.customer
    if customer.organization_id != org.pk:
        raise PaymentError(_("That customer belongs to another organization."))
    if customer.is_archived:
        raise PaymentError(_("%(name)s is archived; restore the customer first.") % {"name": customer.name})
    if p.currency != customer.currency:
        raise PaymentError(_("%(name)s pays in %(cur)s; a payment in %(other)s cannot be recorded against its "
                             "account.") % {"name": customer.name, "cur": customer.currency, "other": p.currency})
    _check_money(p.amount, p.currency, _("amount"))
    _check_not_future(p.received_date, _("date received"))
    _check_method(p.method)
    _check_account(org, p.deposit_account)
    if p.allocation in (NONE, None):
        return {}
    if p.allocation == AUTO:
        candidates = [i for i in open_by_customer.get(customer.pk, ()) if due[i.pk] > 0]
        for invoice in candidates:  # auto_amounts reads amount_due: what is left after the rows above
            invoice.amount_due = due[invoice.pk]
        amounts = auto_amounts(candidates, p.amount, today)
    else:
        amounts = {int(k): v for k, v in p.allocation.items() if v}
        if sum(amounts.values(), ZERO) > p.amount:
            raise AllocationError(_("%(amount)s is more than the %(unapplied)s still unapplied.")
                                  % {"amount": sum(amounts.values(), ZERO), "unapplied": p.amount})
        for invoice_id, amount in amounts.items():
            invoice = invoices.get(invoice_id)
            if invoice is None or invoice.customer_id != customer.pk or invoice.status != InvoiceStatus.ISSUED:
                raise AllocationError(_("Money can only be applied to the same customer's open invoices "
                                        "(invoice #%(id)s is not one of them).") % {"id": invoice_id})
            if amount <= 0 or amount > due[invoice_id]:
                raise AllocationError(_("%(amount)s is more than %(n)s's amount due (%(due)s).")
                                      % {"amount": amount, "n": invoice, "due": due[invoice_id]})
    for invoice_id, amount in amounts.items():
        due[invoice_id] -= amount
    return amounts
