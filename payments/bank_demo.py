"""Demo bank statement for `manage.py seed_demo` (after the payments hook): a "Main account" on
the Bank ledger account, one CAMT.053 statement of the last two weeks imported through the real
services, part of it matched and reconciled, the rest left for the visitor to match: an exact
invoice-number receipt, a bank fee, and a receipt by payer name alone."""

from datetime import timedelta
from decimal import Decimal

from accounts.chart import system_accounts
from invoicing.models import Invoice
from payments.bank import commit_import, confirm_match, create_bank_account, post_line, reconcile_lines, stage_import
from payments.camt_writer import Entry, camt053_document
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
    data = camt053_document(iban=IBAN, currency=org.base_currency, opening=Decimal("12500.00"),
                            statement_id="DEMO-STMT", entries=entries)
    imp = commit_import(stage_import(account, filename="demo-statement.xml", data=data, actor=owner), actor=owner)
    lines = list(imp.lines.order_by("booking_date", "pk"))
    matched = []
    for line in lines[:2]:
        if line.amount > 0:
            from payments.bank import suggestions_for

            found = suggestions_for(line)
            if found:
                matched.append(confirm_match(line, found[0].key, actor=owner).pk)
    if matched:
        reconcile_lines(account, matched[:1], actor=owner)
    fee = next((li for li in lines if li.amount < 0), None)
    if fee is not None:
        post_line(fee, account=acc["rounding"], reason="Monthly account fee", actor=owner)
    return {"bank_lines": len(lines), "bank_matched": len(matched)}
