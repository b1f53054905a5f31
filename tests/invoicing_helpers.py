"""Build invoices for tests the way the product does: a draft with lines, then issue."""

from decimal import Decimal

from invoicing.models import InvoiceLine, TaxRate
from invoicing.services import issue_invoice, new_draft, recompute_totals


def draft(org, customer, lines=(("Consulting", "2", "100.00", "20"),), actor=None, **fields):
    """lines: (description, quantity, unit price, tax percent or None)."""
    invoice = new_draft(org, customer, actor=actor, **fields)
    for n, (description, qty, price, tax) in enumerate(lines, start=1):
        rate = None
        if tax is not None:
            rate, _ = TaxRate.objects.get_or_create(organization=org, percent=Decimal(tax),
                                                    defaults={"name": f"Tax {tax}%"})
        InvoiceLine.objects.create(organization=org, invoice=invoice, position=n, description=description,
                                   quantity=Decimal(qty), unit_price=Decimal(price), tax_rate=rate)
    recompute_totals(invoice)
    return invoice


def issued(org, customer, lines=(("Consulting", "2", "100.00", "20"),), actor=None, **fields):
    return issue_invoice(draft(org, customer, lines, actor=actor, **fields), actor=actor)
