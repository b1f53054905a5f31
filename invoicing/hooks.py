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
from dataclasses import dataclass


@dataclass
class AllocationHooks:
    apply: Callable | None = None
    of_invoice: Callable | None = None
    of_credit_note: Callable | None = None


ALLOCATIONS = AllocationHooks()
