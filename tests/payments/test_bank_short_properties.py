"""Property-based (issue 16): for any invoices and any statement of credits and debits, and any
sequence of confirms (leaving a short receipt's difference open, or booking it as a discount or
a bank fee), bounces, refunds, undos and reconciliations:

- every amount on the Bank ledger account is on a matched bank line or listed by the
  reconciliation as in the books and not yet in the bank (book balance = matched lines + unseen);
- each invoice's written-off amount = the sum of its write-off rows (reversals negative), and an
  invoice's amount due never goes below zero (DESIGN.md 5);
- the balances equal their recomputation from the rows and verify_ledger passes (check_invariants).

Each example builds its own organization inside a transaction that is rolled back."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError
from invoicing.models import Invoice, WriteOff
from ledger_site.tenancy import tenant_context
from payments.bank import confirm_match, reconcile_lines, reconciliation, suggestions_for, unmatch_line
from payments.models import Payment
from payments.models_bank import BankLine
from payments.services import refund_payment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.bank_helpers import bank_account, import_lines
from tests.payments.helpers import check_invariants, key

pytestmark = pytest.mark.django_db
TODAY = date.today()
D = Decimal

# A credit: (which invoice, cents short of its amount due: 0 exact, small = a fee, large = partial)
credit = st.tuples(st.integers(0, 5), st.sampled_from([0, 1, 250, 999, 1000, 1001, 5000]))
action = st.tuples(st.sampled_from(["confirm", "confirm_fee", "confirm_discount", "undo", "reconcile", "refund"]),
                   st.integers(0, 100), st.integers(0, 4))


def check(org, account):
    matched = BankLine.objects.filter(bank_account=account).exclude(status="unmatched")
    total = matched.aggregate(s=Sum("amount"))["s"] or D(0)
    rec = reconciliation(account)
    assert ledger.account_balance(account.account, currency="EUR") == rec.book_balance == total + rec.unseen_total
    for invoice in Invoice.objects.filter(organization=org):
        written = WriteOff.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"] or D(0)
        assert invoice.amount_written_off == written >= 0 and invoice.amount_due >= 0
    bad_debt_etc = sum((ledger.account_balance(a, currency="EUR") for a in system_accounts(org).values()
                        if a.system_key in ("bad_debt", "discount_allowed", "bank_charges")), D(0))
    assert bad_debt_etc == (WriteOff.objects.filter(organization=org).aggregate(s=Sum("amount"))["s"] or D(0))
    check_invariants(org)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(amounts=st.lists(st.integers(5_000, 300_000), min_size=1, max_size=4),
       credits=st.lists(credit, min_size=1, max_size=4), actions=st.lists(action, min_size=1, max_size=10))
def test_short_receipts_fees_discounts_bounces_and_undos_keep_books_and_bank_in_step(amounts, credits, actions):
    org, owner = make_org()
    with transaction.atomic():
        with tenant_context(org, owner):
            customer = CustomerFactory(organization=org, name="Maple Joinery")
            invoices = [issued(org, customer, [("Work", "1", str(D(a).scaleb(-2)), None)],
                               issue_date=TODAY - timedelta(days=5)) for a in amounts]
            account = bank_account(org)
            entries = []
            for n, (which, short) in enumerate(credits):
                invoice = invoices[which % len(invoices)]
                amount = invoice.amount_due - D(short).scaleb(-2)
                entries.append((str(amount), "Maple Joinery", invoice.number, f"C-{n}"))
            # Each credit may come back as a debit of the same amount (a returned payment).
            entries += [(f"-{amount}", "Maple Joinery", "RETURN", f"D-{n}") for n, (amount, *_) in enumerate(entries)]
            lines = import_lines(account, entries, actor=owner)
            check(org, account)
            for kind, pick, choice in actions:
                # Confirm an unmatched line, undo or reconcile a matched one (so each step does something
                # often); a line of the other state now and then, to be refused.
                want = "unmatched" if kind.startswith("confirm") else "matched"
                pool = list(BankLine.objects.filter(bank_account=account, status=want).order_by("pk")) \
                    if pick % 5 else []
                line = pool[pick % len(pool)] if pool else BankLine.objects.get(pk=lines[pick % len(lines)].pk)
                try:
                    with transaction.atomic():
                        if kind.startswith("confirm"):
                            found = suggestions_for(line)
                            if not found:
                                continue
                            settle = {"confirm_fee": "bank_fee", "confirm_discount": "discount"}.get(kind, "")
                            chosen = found[choice % len(found)]
                            confirm_match(line, chosen.key, actor=owner, settle=settle)
                            event(f"confirmed {chosen.kind}{' ' + settle if settle else ''}")
                        elif kind == "undo":
                            unmatch_line(line, reason="property", actor=owner)
                            event("undone")
                        elif kind == "reconcile":
                            reconcile_lines(account, [line.pk], actor=owner)
                        else:
                            live = [p for p in Payment.objects.filter(organization=org, reversed_at__isnull=True)
                                    if p.unapplied > 0]
                            if live:
                                p = live[choice % len(live)]
                                refund_payment(p, amount=p.unapplied, refund_date=TODAY, method="bank_transfer",
                                               account=account.account, idempotency_key=key())
                except LedgerError:
                    pass  # refused (tolerance, already matched, reconciled, ...): nothing changed
                check(org, account)
        transaction.set_rollback(True)
