"""Demo bank statement for `manage.py seed_demo` (after the payments hook): a "Main account" on
the Bank ledger account, one CAMT.053 statement of the last two weeks imported through the real
services, part of it matched and reconciled, the rest left for the visitor to match: an exact
invoice-number receipt, a bank fee, and a receipt by payer name alone. A receipt short by a bank
fee is matched with the difference booked as "Bank charges", and the bank's debit for the demo's
refund is matched to that refund."""

from datetime import timedelta
from decimal import Decimal

from accounts.chart import system_accounts
from invoicing.models import Invoice, InvoiceStatus
from invoicing.services import short_payment_tolerance
from payments.bank import (
    commit_import,
    confirm_match,
    create_bank_account,
    post_line,
    reconcile_lines,
    stage_import,
    suggestions_for,
)
from payments.camt_writer import Entry, camt053_document
from payments.models import Refund
from payments.models_bank import BankAccount

IBAN = "IE29AIBK93115212345678"


def seed_demo_bank(org, owner) -> dict:
    if BankAccount.objects.filter(organization=org).exists():
        return {}
    acc = system_accounts(org)
    account = create_bank_account(org, name="Main account", currency=org.base_currency, account=acc["bank"],
                                  iban=IBAN)
    today = org.today()
    open_invoices = list(Invoice.objects.open().filter(
        organization=org, currency=org.base_currency, disputed_at__isnull=True,
        issue_date__lte=today - timedelta(days=3))
                         .select_related("customer").order_by("due_date", "pk")[:4])
    entries = []
    for n, inv in enumerate(open_invoices):
        day = today - timedelta(days=12 - 3 * n)
        text = f"Payment {inv.number}" if n % 2 == 0 else "Thank you"
        entries.append(Entry(day, inv.amount_due, inv.customer.name, text, ref=f"DEMO-{n + 1}"))
    entries.append(Entry(today - timedelta(days=2), Decimal("-18.50"), "Bank", "Account fee", ref="DEMO-FEE"))
    short = _short_paid(org, open_invoices, today)
    if short is not None:
        inv, fee = short
        entries.append(Entry(today - timedelta(days=1), inv.amount_due - fee, inv.customer.name,
                             f"Payment {inv.number}", ref="DEMO-SHORT"))
    refund = (Refund.objects.filter(organization=org, account=acc["bank"], currency=org.base_currency)
              .select_related("customer").order_by("pk").first())
    if refund is not None:
        entries.append(Entry(refund.refund_date, -refund.amount, refund.customer.name,
                             f"Refund {refund.reference}".strip(), ref="DEMO-REFUND"))
    data = camt053_document(iban=IBAN, currency=org.base_currency, opening=Decimal("12500.00"),
                            statement_id="DEMO-STMT", entries=entries)
    imp = commit_import(stage_import(account, filename="demo-statement.xml", data=data, actor=owner), actor=owner)
    lines = list(imp.lines.order_by("booking_date", "pk"))
    matched = []
    for line in lines[:2]:
        if line.amount > 0:
            found = suggestions_for(line)
            if found:
                matched.append(confirm_match(line, found[0].key, actor=owner).pk)
    if matched:
        reconcile_lines(account, matched[:1], actor=owner)
    fee = next((li for li in lines if li.bank_reference == "DEMO-FEE"), None)
    if fee is not None:
        post_line(fee, account=acc["rounding"], reason="Monthly account fee", actor=owner)
    for ref, settle in (("DEMO-SHORT", "bank_fee"), ("DEMO-REFUND", "")):
        line = next((li for li in lines if li.bank_reference == ref), None)
        found = suggestions_for(line) if line is not None else []
        if found:
            confirm_match(line, found[0].key, actor=owner, settle=settle)
            matched.append(line.pk)
    return {"bank_lines": len(lines), "bank_matched": len(matched)}


def _short_paid(org, taken, today):
    """An open invoice (not among those already on the statement) and a bank fee within the
    short-payment tolerance: the demo's short receipt."""
    candidates = (Invoice.objects.filter(organization=org, status=InvoiceStatus.ISSUED, amount_paid=0,
                                         amount_due__gt=200, currency=org.base_currency, disputed_at__isnull=True,
                                         issue_date__lte=today - timedelta(days=3))
                  .exclude(pk__in=[i.pk for i in taken]).select_related("customer").order_by("due_date", "pk"))
    for inv in candidates[:5]:
        fee = min(Decimal("3.50"), short_payment_tolerance(inv.amount_due, inv.currency))
        if fee > 0:
            return inv, fee
    return None
