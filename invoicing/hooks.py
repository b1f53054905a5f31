"""What the apps above invoicing plug into it (in their AppConfig.ready): invoicing never imports them.

Allocations (payments.Allocation) apply a payment or a credit note to invoices: sub-ledger matching,
which payments owns. Invoicing needs three things of it, registered by payments/apps.py:

- `ALLOCATIONS.apply(invoice, source, amount, actor=None, effective_date=None)`: a new credit note
  is applied to the invoice it credits (invoicing.credit_notes);
- `ALLOCATIONS.of_invoice(invoice)`: the rows applying money to an invoice (its page), with their
  payment and credit note loaded;
- `ALLOCATIONS.of_credit_note(note)`: the rows applying a credit note (its page), with their invoice.
"""

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from ledger_site.api_support import money


@dataclass
class AllocationHooks:
    apply: Callable | None = None
    of_invoice: Callable | None = None
    of_credit_note: Callable | None = None


ALLOCATIONS = AllocationHooks()


# Promises to pay (reminders owns them) as they stood at the end of a past day, for reports' pages
# (issue 20): PROMISES_AS_OF(org, day, invoice_ids) -> {invoice id: promised-by date}. Registered by
# reminders/apps.py (reminders.holds.promises_as_of); None when reminders is not installed.
PROMISES_AS_OF: Callable | None = None


# Business events (webhooks). Reminders owns the outbox that delivers them and appends its writer
# here at ready(); invoicing and payments call `emit` at the one place each event happens, inside
# the transaction that makes it happen, so the outbox row commits (or rolls back) with it.
# A hook is called as hook(organization_id, event_type, data) with `data` JSON-ready.
EVENT_HOOKS: list[Callable] = []
# The same writers for many events at once: hook(organization_id, [(event_type, data), ...]). A
# writer registers both; `batched()` uses this one.
EVENT_BATCH_HOOKS: list[Callable] = []
_PENDING: ContextVar[list | None] = ContextVar("hooks_pending", default=None)


def emit(organization_id: int, event_type: str, data: dict) -> None:
    pending = _PENDING.get()
    if pending is not None:
        pending.append((organization_id, event_type, data))
        return
    for hook in EVENT_HOOKS:
        hook(organization_id, event_type, data)


@contextmanager
def batched():
    """Collect the events emitted inside the block and write them when it ends, in one go per
    organization (the bulk doors: an import of thousands of payments). Still inside the caller's
    transaction; nothing is written if the block raises. Inside another such block, the outer one
    writes them."""
    if _PENDING.get() is not None:
        yield
        return
    pending: list = []
    token = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(token)
    by_org: dict[int, list] = {}
    for organization_id, event_type, data in pending:
        by_org.setdefault(organization_id, []).append((event_type, data))
    for organization_id, events in by_org.items():
        if EVENT_BATCH_HOOKS:
            for hook in EVENT_BATCH_HOOKS:
                hook(organization_id, events)
        else:
            for event_type, data in events:
                for hook in EVENT_HOOKS:
                    hook(organization_id, event_type, data)


def invoice_data(invoice) -> dict:
    c = invoice.currency
    return {"id": invoice.pk, "number": invoice.number, "status": invoice.status, "currency": c,
            "total": money(invoice.total, c), "amount_due": money(invoice.amount_due, c),
            "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else None,
            "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
            "customer": {"id": invoice.customer_id}}


# The customer portal's statement (reminders' portal pages; reports owns statements and registers
# it at ready()): STATEMENT_PDF["customer"](customer, today) -> the StoredDocument of the customer's
# open-item statement as of today.
STATEMENT_PDF: dict[str, Callable] = {}
