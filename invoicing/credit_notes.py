"""Credit notes: against an invoice (some lines and quantities, or an amount) or standalone.

A credit note posts Dr sales returns (net) and Dr tax payable (tax), Cr AR (customer) total.
Against an invoice, as much as the invoice still owes is applied to it at once (an allocation
row); anything beyond stays as the customer's unapplied credit, like a standalone note.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import Line
from accounts.locale import document_language, in_language
from accounts.models import Customer
from accounts.models_org import today_in
from accounts.money import MoneyError, check_exact, round_money
from invoicing import documents, hooks
from invoicing.hooks import ALLOCATIONS
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceStatus, tax_category
from invoicing.numbering import take_number
from invoicing.services import InvoiceError, record_event


@dataclass(frozen=True)
class CreditItem:
    description: str
    quantity: Decimal
    unit_price: Decimal
    net: Decimal
    tax_percent: Decimal
    tax: Decimal
    invoice_line_id: int | None = None
    tax_category: str = ""  # the invoice line's as issued; empty: by the percent (invoicing.models.tax_category)
    exemption_reason: str = ""


def credited_quantities(invoice: Invoice) -> dict[int, Decimal]:
    rows = (CreditNoteLine.objects.filter(credit_note__invoice=invoice, invoice_line__isnull=False)
            .values("invoice_line_id").annotate(q=Sum("quantity")))
    return {r["invoice_line_id"]: r["q"] for r in rows}


def line_items(invoice: Invoice, quantities: dict[int, Decimal]) -> list[CreditItem]:
    """What crediting these quantities of the invoice's lines would credit, at the prices invoiced."""
    lines = {li.pk: li for li in invoice.lines.all()}
    # The VAT category each line was issued with (its snapshot line, same order as the rows).
    issued = (invoice.snapshot or {}).get("lines") or []
    categories = {pk: issued[n] for n, pk in enumerate(lines) if n < len(issued)}
    already = credited_quantities(invoice)
    items = []
    for line_id, qty in quantities.items():
        line = lines.get(int(line_id))
        if line is None:
            raise InvoiceError(_("That line is not on this invoice."))
        if qty is None or qty == 0:
            continue
        if qty < 0 or qty > line.quantity - already.get(line.pk, Decimal(0)):
            raise InvoiceError(_("Line “%(d)s”: credit between 0 and %(max)s.")
                               % {"d": line.description, "max": line.quantity - already.get(line.pk, Decimal(0))})
        net = line.net_amount if qty == line.quantity else round_money(line.net_amount * qty / line.quantity,
                                                                       invoice.currency)
        tax = line.tax_amount if qty == line.quantity else round_money(net * line.tax_percent / 100,
                                                                       invoice.currency)
        category = categories.get(line.pk, {})
        items.append(CreditItem(line.description, qty, line.unit_price, net, line.tax_percent, tax, line.pk,
                                category.get("tax_category", ""), category.get("exemption_reason", "")))
    return items


def amount_items(customer, amount: Decimal, tax_percent: Decimal = Decimal(0)) -> list[CreditItem]:
    """A gross amount (tax included at `tax_percent`) as one credit item, described in the customer's
    language (the line is printed on their credit note)."""
    currency = customer.currency
    try:
        amount = check_exact(amount, currency)
    except MoneyError as e:
        raise InvoiceError(str(e)) from e
    if amount <= 0:
        raise InvoiceError(_("Credit an amount greater than zero."))
    net = round_money(amount * 100 / (100 + tax_percent), currency)
    with in_language(document_language(customer)):
        description = _("Credit")
    return [CreditItem(description, Decimal(1), net, net, tax_percent, amount - net)]


@dataclass(frozen=True)
class CreditPreview:
    """What a credit note would total and where it would go, shown before it is issued."""

    net: Decimal
    tax: Decimal
    total: Decimal
    applied: Decimal  # to the invoice it credits (at most what it still owes)
    stays: Decimal  # the rest: the customer's unapplied credit


def preview(invoice: Invoice, items: list[CreditItem]) -> CreditPreview:
    net = sum((i.net for i in items), Decimal(0))
    tax = sum((i.tax for i in items), Decimal(0))
    applied = min(net + tax, max(invoice.amount_due, Decimal(0)))
    return CreditPreview(net, tax, net + tax, applied, net + tax - applied)


def credit_invoice_lines(invoice: Invoice, quantities: dict[int, Decimal], reason: str, actor=None,
                         idempotency_key: str | None = None, issue_date: date | None = None) -> CreditNote:
    """Credit some quantities of some of the invoice's lines, at the prices invoiced."""
    return _issue(invoice.organization, invoice.customer, invoice, line_items(invoice, quantities), reason, actor,
                  idempotency_key, issue_date)


def credit_amount(customer, amount: Decimal, reason: str, actor=None, invoice: Invoice | None = None,
                  tax_percent: Decimal = Decimal(0), idempotency_key: str | None = None,
                  issue_date: date | None = None, number: str | None = None,
                  account_key: str = "returns") -> CreditNote:
    """Credit a gross amount (tax included at `tax_percent`), against an invoice or standalone.
    `number`: a credit note brought in from another system keeps its own number (the imports);
    otherwise the organization's series gives the next one. `account_key`: the system account
    debited with the net (sales returns; an opening credit balance debits opening balances)."""
    return _issue(customer.organization, customer, invoice, amount_items(customer, amount, tax_percent),
                  reason, actor, idempotency_key, issue_date,
                  number, account_key)


@transaction.atomic
def _issue(org, customer, invoice, items, reason, actor, idempotency_key, issue_date=None,
           number=None, account_key="returns") -> CreditNote:
    if invoice is not None:
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    # The customer row lock serializes credit notes per customer, so a retried request with the
    # same idempotency key sees the first one's note and neither posts nor takes a number again.
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    if idempotency_key:
        done = CreditNote.objects.filter(organization=org, entry__organization_id=org.pk,
                                         entry__idempotency_key=idempotency_key).first()
        if done is not None:
            return done
    if not reason.strip():
        raise InvoiceError(_("A credit note needs a reason."))
    if not items:
        raise InvoiceError(_("Choose what to credit."))
    subtotal = sum((i.net for i in items), Decimal(0))
    tax = sum((i.tax for i in items), Decimal(0))
    total = subtotal + tax
    if total <= 0:
        raise InvoiceError(_("The credit must be more than zero."))
    if invoice is not None:
        if invoice.status != InvoiceStatus.ISSUED:
            raise InvoiceError(_("Only an issued invoice can be credited."))
        credited = invoice.credit_notes.aggregate(s=Sum("total"))["s"] or Decimal(0)
        if credited + total > invoice.total:
            raise InvoiceError(_("That would credit %(t)s, more than the %(left)s not yet credited on %(n)s.")
                               % {"t": total, "left": invoice.total - credited, "n": invoice.number})
        already = credited_quantities(invoice)  # again, under the lock: concurrent notes queue here
        for i in items:
            if i.invoice_line_id is not None:
                line = invoice.lines.get(pk=i.invoice_line_id)
                if already.get(line.pk, Decimal(0)) + i.quantity > line.quantity:
                    raise InvoiceError(_("Line “%(d)s” was credited meanwhile; reload and try again.")
                                       % {"d": line.description})
    today = issue_date or today_in(org)
    acc = system_accounts(org)
    number = number or take_number(org, "credit_note", today)
    lines = [Line(acc["ar"], -total, customer)]
    if subtotal:
        lines.append(Line(acc[account_key], subtotal, currency=customer.currency))
    if tax:
        lines.append(Line(acc["tax"], tax, currency=customer.currency))
    key = idempotency_key or f"credit_note:{org.pk}:{number}"
    rate = ledger.rate_of(org, customer.currency, today)
    entry = ledger.post(org, lines, effective_date=today, idempotency_key=key, memo=f"Credit note {number}",
                        actor=actor, source_label=number, reason=reason[:500], rates={customer.currency: rate})
    existing = CreditNote.objects.filter(entry=entry).first()
    if existing:
        return existing
    note = CreditNote.objects.create(
        organization=org, customer=customer, invoice=invoice, number=number, currency=customer.currency,
        issue_date=today, reason=reason[:500], subtotal=subtotal, tax_total=tax, total=total, entry=entry,
        created_by=actor, fx_rate=rate,
        snapshot={"seller": {"name": org.name, "address": org.address, "tax_id": org.tax_id,
                             "country": org.country, "endpoint_scheme": org.endpoint_scheme,
                             "endpoint_id": org.endpoint_id},
                  "buyer": {"name": customer.name, "address": customer.billing_address, "tax_id": customer.tax_id,
                            "country": customer.country, "code": customer.code,
                            "endpoint_scheme": customer.endpoint_scheme, "endpoint_id": customer.endpoint_id},
                  "invoice": invoice.number if invoice else None,
                  "invoice_date": invoice.issue_date.isoformat() if invoice else None,
                  # per line, in position order: the VAT category and exemption reason (e-invoices)
                  "lines": [{"tax_category": tax_category(i.tax_category, i.tax_percent),
                             "exemption_reason": i.exemption_reason} for i in items]},
    )
    CreditNoteLine.objects.bulk_create([
        CreditNoteLine(organization=org, credit_note=note, invoice_line_id=i.invoice_line_id, position=n,
                       description=i.description, quantity=i.quantity, unit_price=i.unit_price,
                       tax_percent=i.tax_percent, net_amount=i.net, tax_amount=i.tax)
        for n, i in enumerate(items, start=1)
    ])
    if invoice is not None:
        record_event(invoice, "credited", _("Credit note %(n)s for %(t)s %(c)s: %(r)s")
                     % {"n": number, "t": total, "c": invoice.currency, "r": reason}, actor)
        applicable = min(total, invoice.amount_due)
        if applicable > 0:
            ALLOCATIONS.apply(invoice, note, applicable, actor=actor, effective_date=today)
    documents.queue_render(note)
    hooks.emit(org.pk, "credit_note.issued", {
        "id": note.pk, "number": note.number, "currency": note.currency,
        "total": hooks.money(note.total, note.currency),
        "issue_date": note.issue_date.isoformat(), "reason": note.reason,
        "customer": {"id": customer.pk},
        "invoice": {"id": invoice.pk, "number": invoice.number} if invoice is not None else None})
    return note
