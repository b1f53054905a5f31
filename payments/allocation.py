"""Applying payments and credit notes to invoices, and un-applying them.

Rows only: each application is an Allocation row, each un-application a negative row that
points at it. The invoice's maintained amounts and the source's allocated amount change in
the same transaction, with the rows locked, so two concurrent applications can never
over-pay an invoice or over-spend a payment (and the CHECK constraints would refuse it).

Realized exchange difference (issue 17, docs/currencies.md): an application's amount has a base-
currency value as the invoice booked it (its rate) and as the payment or credit note booked it (its
rate); each allocation row stores both, and when they differ the difference is posted through the
ledger's one door (AR of the customer: 0 in the transaction currency, the difference in base, against
"Realized exchange gain" or "Realized exchange loss"), keyed "allocation:<row id>:fx". The row that
completes an invoice (or spends a source) takes the rest of its booked base value, so a settled
document leaves nothing in base on the receivable. Un-applying reverses that entry exactly.

Lock order, everywhere in payments: the invoices (by primary key), then the payment or credit
note, then (when posting) the organization's ledger head. Invoicing locks an invoice before
the ledger head too, so no two transactions wait on each other in a circle.
"""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.chart import realized_fx_account, system_account
from accounts.ledger import LedgerError, Line
from accounts.models import JournalEntry, JournalLine
from accounts.models_org import today_in
from accounts.money import MoneyError, check_exact, format_money, round_money
from accounts.period import check_open
from invoicing.amounts import change_amounts, change_invoice_amounts
from invoicing.models import CreditNote, Invoice, InvoiceStatus
from invoicing.services import record_event
from payments.models import Allocation, Payment, Refund


class AllocationError(LedgerError):
    """A refused allocation; nothing was changed."""


def _lock_pair(invoice: Invoice, source):
    """Lock invoice and source in a fixed order (invoice first) to avoid deadlocks."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    source = type(source).objects.select_for_update().get(pk=source.pk)
    return invoice, source


def lock_invoices(org_id: int, ids) -> dict[int, Invoice]:
    """Lock the invoices in primary-key order (one statement) and return them by id."""
    rows = Invoice.objects.select_for_update().filter(organization_id=org_id, pk__in=list(ids)).order_by("pk")
    return {invoice.pk: invoice for invoice in rows}


def source_unapplied(source) -> Decimal:
    return source.unapplied


def describe_source(source) -> str:
    if isinstance(source, Payment):
        return _("payment %(ref)s") % {"ref": source.reference or f"#{source.pk}"}
    return _("credit note %(n)s") % {"n": source.number}


def allocations_of_invoice(invoice: Invoice) -> list[Allocation]:
    """The rows applying money to an invoice, oldest first (invoicing.hooks.ALLOCATIONS.of_invoice)."""
    return list(Allocation.objects.filter(invoice=invoice).select_related("payment", "credit_note")
                .order_by("created_at", "pk"))


def allocations_of_credit_note(note: CreditNote) -> list[Allocation]:
    """The rows applying a credit note, oldest first (invoicing.hooks.ALLOCATIONS.of_credit_note)."""
    return list(Allocation.objects.filter(credit_note=note).select_related("invoice").order_by("created_at", "pk"))


def apply(invoice: Invoice, source: Payment | CreditNote, amount: Decimal, actor=None,
          effective_date: date | None = None) -> Allocation:
    """Apply `amount` of `source` to one invoice."""
    if not isinstance(amount, Decimal):
        raise AllocationError(_("Amounts must be Decimal."))
    if amount <= 0:
        raise AllocationError(_("Apply an amount greater than zero."))
    return apply_many(source, {invoice.pk: amount}, actor=actor, effective_date=effective_date)[0]


def _wanted(amounts: Mapping[int, Decimal]) -> dict[int, Decimal]:
    wanted: dict[int, Decimal] = {}
    for invoice_id, amount in amounts.items():
        if amount is None or amount == 0:
            continue
        if amount < 0:
            raise AllocationError(_("Apply an amount greater than zero."))
        wanted[int(invoice_id)] = amount
    return wanted


@transaction.atomic
def apply_many(source: Payment | CreditNote, amounts: Mapping[int, Decimal], actor=None,
               effective_date: date | None = None, at: datetime | None = None) -> list[Allocation]:
    """Apply `source` to several invoices at once ({invoice id: amount}), all or nothing.

    Zero amounts are skipped. Refused (AllocationError, nothing changed): a negative amount or one
    with more decimals than the currency has, an invoice that is not the same customer's open
    invoice, more than an invoice's amount due, more in total than the source has unapplied,
    a reversed payment. A realized exchange difference is posted last (the ledger head's lock is
    the organization's: taken once the rows are written).
    """
    wanted = _wanted(amounts)
    if not wanted:
        return []
    invoices = lock_invoices(source.organization_id, wanted)
    source = type(source).objects.select_for_update().get(pk=source.pk)
    rows = _allocate(source, invoices, wanted, actor, effective_date, at)
    change_amounts(source, **{_source_field(source): sum(wanted.values(), Decimal(0))})
    post_realized(rows, invoices, source, actor)
    return rows


def apply_new_payment(payment: Payment, amounts: Mapping[int, Decimal], invoices: dict[int, Invoice], *,
                      booked_base: Decimal, actor=None, effective_date: date | None = None,
                      at: datetime | None = None) -> list[Allocation]:
    """`apply_many` for payments.services.record_payment, which inserts its payment after posting its
    receipt, and posts that last: `payment` is not inserted yet (its id is reserved; the rows' foreign
    key to it is checked at commit) and its `amount_allocated` is set on the object for that insert;
    `invoices` are this transaction's locked rows; `booked_base` is what the receipt will book on the
    receivable in the base currency. The caller posts the realized differences (`post_realized`)
    after the receipt."""
    wanted = _wanted(amounts)
    if not wanted:
        return []
    rows = _allocate(payment, invoices, wanted, actor, effective_date, at, booked_base=booked_base)
    payment.amount_allocated += sum(wanted.values(), Decimal(0))
    return rows


def _allocate(source, invoices: dict[int, Invoice], wanted: dict[int, Decimal], actor, effective_date, at,
              booked_base: Decimal | None = None) -> list[Allocation]:
    """Check and write the allocation rows and the invoices' amounts (the source's are the caller's)."""
    if isinstance(source, Payment) and source.reversed_at:
        raise AllocationError(_("This payment was reversed; it has nothing to apply."))
    total = Decimal(0)
    for invoice_id, amount in wanted.items():
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice.customer_id != source.customer_id:
            raise AllocationError(_("Money can only be applied to the same customer's invoices "
                                    "(invoice #%(id)s is not one of them).") % {"id": invoice_id})
        if invoice.currency != source.currency:
            raise AllocationError(_("The currencies differ."))
        try:
            check_exact(amount, invoice.currency)
        except MoneyError as e:
            raise AllocationError(str(e)) from e
        if invoice.status != InvoiceStatus.ISSUED:
            raise AllocationError(_("Invoice %(n)s is not open.") % {"n": invoice})
        if amount > invoice.amount_due:
            raise AllocationError(_("%(amount)s is more than %(n)s's amount due (%(due)s).")
                                  % {"amount": amount, "n": invoice, "due": invoice.amount_due})
        total += amount
    if total > source_unapplied(source):
        raise AllocationError(_("%(amount)s is more than the %(unapplied)s still unapplied.")
                              % {"amount": total, "unapplied": source_unapplied(source)})
    is_payment = isinstance(source, Payment)
    when = effective_date or today_in()
    check_open(source.organization_id, when, AllocationError)  # the period lock: nothing allocated in a closed period
    bases = _base_values(source, invoices, wanted, booked_base)
    rows = Allocation.objects.bulk_create([
        Allocation(organization_id=source.organization_id, invoice_id=invoice_id, amount=amount,
                   payment=source if is_payment else None, credit_note=None if is_payment else source,
                   effective_date=when, created_by=actor,
                   invoice_base=bases.get(invoice_id, (None, None))[0],
                   source_base=bases.get(invoice_id, (None, None))[1])
        for invoice_id, amount in wanted.items()
    ])
    field = "amount_paid" if is_payment else "amount_credited"
    change_invoice_amounts((invoices[invoice_id], {field: amount}) for invoice_id, amount in wanted.items())
    what = describe_source(source)
    for invoice_id, amount in wanted.items():
        record_event(invoices[invoice_id], "payment_applied" if is_payment else "credit_applied",
                     _("%(amount)s applied from %(what)s") % {"amount": format_money(amount, source.currency),
                                                              "what": what}, actor, at=at)
    return rows


def post_realized(rows: list[Allocation], invoices: dict[int, Invoice], source, actor) -> None:
    """The realized exchange differences of new allocation rows, through the ledger's one door."""
    for row in rows:
        _post_realized(row, invoices[row.invoice_id], source, actor)


@transaction.atomic
def unapply(allocation: Allocation, reason: str, actor=None, *, kind: str = "allocation_removed",
            message: str | None = None, effective_date: date | None = None, at: datetime | None = None) -> Allocation:
    """Undo one application by adding its negative; the original row stays."""
    if allocation.amount < 0:
        raise AllocationError(_("This row already undoes another."))
    if not reason.strip():
        raise AllocationError(_("Say why the application is undone."))
    source = allocation.payment or allocation.credit_note
    check_open(allocation.organization_id, effective_date or today_in(), AllocationError)
    invoice, source = _lock_pair(allocation.invoice, source)
    # Checked under the locks: a concurrent un-apply of the same row queues behind this one.
    if Allocation.objects.filter(reverses=allocation).exists():
        raise AllocationError(_("This application was already undone."))
    undo = Allocation.objects.create(
        organization_id=allocation.organization_id, invoice=invoice, payment=allocation.payment,
        credit_note=allocation.credit_note, amount=-allocation.amount, reverses=allocation,
        reason=reason.strip()[:500], effective_date=effective_date or today_in(), created_by=actor,
        invoice_base=None if allocation.invoice_base is None else -allocation.invoice_base,
        source_base=None if allocation.source_base is None else -allocation.source_base,
    )
    realized = realized_entry(allocation)
    if realized is not None:  # the exchange difference goes back exactly: the mirror of its entry
        ledger.reverse(realized, reason=reason.strip(), actor=actor, effective_date=undo.effective_date,
                       idempotency_key=f"allocation:{undo.pk}:fx", source=("payments.allocation", undo.pk),
                       source_label=invoice.number)
    _move(invoice, source, -allocation.amount)
    record_event(invoice, kind, message or _("%(amount)s un-applied from %(what)s: %(reason)s")
                 % {"amount": format_money(allocation.amount, invoice.currency), "what": describe_source(source),
                    "reason": reason.strip()}, actor, at=at)
    return undo


def realized_entry(allocation: Allocation) -> JournalEntry | None:
    """The realized exchange gain/loss posted for an allocation row (or its reversal), if any."""
    return JournalEntry.objects.filter(organization_id=allocation.organization_id,
                                       idempotency_key=f"allocation:{allocation.pk}:fx").first()


def _settled_so_far(rows, field) -> Decimal | None:
    row = rows.aggregate(base=Sum(field), missing=Count("pk", filter=Q(**{f"{field}__isnull": True})))
    return None if row["missing"] else (row["base"] or Decimal(0))


def source_base_left(source) -> Decimal | None:
    """The base value a payment's receipt (a credit note's issue) booked on the receivable that its
    allocations and refunds have not yet taken; None for a document from before stored base values.
    The one place the last part of a foreign source is computed, by allocations and refunds alike."""
    booked = ledger.booked_base(source.entry_id)
    is_payment = isinstance(source, Payment)
    so_far = _settled_so_far(
        Allocation.objects.filter(**{"payment" if is_payment else "credit_note": source}), "source_base")
    if booked is None or so_far is None:
        return None
    refunded = Decimal(0)
    if is_payment and source.amount_refunded:  # each refund's debit to the receivable, in base
        refunded = JournalLine.objects.filter(
            entry_id__in=Refund.objects.filter(payment=source).values("entry_id"),
            account=system_account(source.organization, "ar")).aggregate(s=Sum("base_amount"))["s"] or Decimal(0)
    return -booked - so_far - refunded


def _base_values(source, invoices, wanted, booked_base=None) -> dict[int, tuple[Decimal, Decimal]]:
    """{invoice id: (base value as the invoice booked it, as the source booked it)} of each amount
    applied, or {} where there is nothing to realize: both documents at rate 1 (the base currency:
    exactly as before rates), or a document from before stored rates.

    Each part is the amount at its document's rate, rounded once to the base currency; the part that
    completes the invoice (nothing written off) or spends the whole source is the rest of what that
    document booked (less what earlier allocations and refunds took), so no base remainder is left on a
    settled document.
    `booked_base`: for a payment whose receipt is posted after its allocation (`apply_new_payment`),
    what the receipt will book; nothing is allocated from it yet."""
    if source.fx_rate is None or (source.fx_rate == 1 and all(
            invoices[i].fx_rate == 1 for i in wanted)):
        return {}
    base = source.organization.base_currency
    left = source.unapplied
    out = {}
    for invoice_id, amount in wanted.items():
        invoice = invoices[invoice_id]
        if invoice.fx_rate is None:
            continue
        invoice_part = round_money(amount * invoice.fx_rate, base)
        if amount == invoice.amount_due and not invoice.amount_written_off:
            booked = ledger.booked_base(invoice.issue_entry_id)
            so_far = _settled_so_far(Allocation.objects.filter(invoice_id=invoice_id), "invoice_base")
            if booked is not None and so_far is not None:
                invoice_part = booked - so_far
        source_part = round_money(amount * source.fx_rate, base)
        left -= amount
        if left == 0:
            rest = -booked_base if booked_base is not None else source_base_left(source)
            if rest is not None:
                source_part = rest - sum((parts[1] for parts in out.values()), Decimal(0))
        out[invoice_id] = (invoice_part, source_part)
    return out


def _post_realized(row: Allocation, invoice: Invoice, source, actor) -> None:
    """The realized exchange difference of one allocation row, through the ledger's one door."""
    if row.invoice_base is None or row.source_base is None or row.invoice_base == row.source_base:
        return
    org = source.organization
    diff = row.source_base - row.invoice_base  # received more in base than booked: a gain
    what = describe_source(source)
    ledger.post(
        org, [Line(system_account(org, "ar"), Decimal(0), invoice.customer, invoice.currency, base_amount=diff),
              Line(realized_fx_account(org, gain=diff > 0), Decimal(0), None, invoice.currency, base_amount=-diff)],
        effective_date=row.effective_date, idempotency_key=f"allocation:{row.pk}:fx",
        memo=(f"Realized exchange {'gain' if diff > 0 else 'loss'} on {invoice.number}, {what}")[:500], actor=actor,
        source=("payments.allocation", row.pk), source_label=invoice.number or "",
    )


def _source_field(source) -> str:
    return "amount_allocated" if isinstance(source, Payment) else "amount_applied"


def _move(invoice: Invoice, source, amount: Decimal) -> None:
    change_amounts(source, **{_source_field(source): amount})
    change_amounts(invoice, **{"amount_paid" if isinstance(source, Payment) else "amount_credited": amount})
