"""Property-based: for any statement of credits (some naming an invoice, some by payer name, some
matching nothing) and any sequence of confirms, undos and reconciliations:

- the Bank ledger account's balance equals the sum of the lines now matched (every receipt that
  reached the books came from exactly one matched line, and an undone match leaves nothing);
- each matched line has exactly one live payment of its amount, and no payment is on two lines;
- reconciled lines stay matched (an undo of a reconciled line is refused, changing nothing);
- the payments invariants (DESIGN.md 3-5) and verify_ledger hold throughout.

Each example builds its own organization inside a transaction that is rolled back."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.ledger import LedgerError
from ledger_site.tenancy import tenant_context
from payments.bank import confirm_match, reconcile_lines, suggestions_for, unmatch_line
from payments.models import Payment
from payments.models_bank import BankLine
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.bank_helpers import bank_account, import_lines
from tests.payments.helpers import check_invariants

pytestmark = pytest.mark.django_db
TODAY = date.today()

# A line: (cents, how it names its payer: 0 invoice number, 1 customer name, 2 nothing, which invoice)
line_spec = st.tuples(st.integers(1, 50_000), st.integers(0, 2), st.integers(0, 5))
action = st.tuples(st.sampled_from(["confirm", "undo", "reconcile"]), st.integers(0, 100), st.integers(0, 4))


def check_bank(org, account):
    matched = BankLine.objects.filter(bank_account=account).exclude(status="unmatched")
    total = matched.aggregate(s=Sum("amount"))["s"] or Decimal(0)
    assert ledger.account_balance(account.account, currency="EUR") == total
    for line in matched:
        payment = Payment.objects.get(pk=line.payment_id)
        assert payment.reversed_at is None and payment.amount == line.amount
    live = Payment.objects.filter(organization=org, reversed_at__isnull=True)
    assert live.count() == matched.count()
    assert sorted(live.values_list("pk", flat=True)) == sorted(matched.values_list("payment_id", flat=True))
    check_invariants(org)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(amounts=st.lists(st.integers(100, 30_000), min_size=1, max_size=4),
       lines=st.lists(line_spec, min_size=1, max_size=5), actions=st.lists(action, min_size=1, max_size=10))
def test_confirms_undos_and_reconciliations_keep_bank_and_books_in_step(amounts, lines, actions):
    org, owner = make_org()
    with transaction.atomic():
        with tenant_context(org, owner):
            customers = [CustomerFactory(organization=org, name=n) for n in ("Maple Joinery", "Birch Works")]
            invoices = [issued(org, customers[i % 2], [("Work", "1", str(Decimal(a).scaleb(-2)), None)],
                               issue_date=TODAY - timedelta(days=5)) for i, a in enumerate(amounts)]
            account = bank_account(org)
            entries = []
            for n, (cents, how, which) in enumerate(lines):
                inv = invoices[which % len(invoices)]
                amount = inv.amount_due if how == 0 and n % 2 == 0 else Decimal(cents).scaleb(-2)
                party = inv.customer.name if how == 1 else "Someone"
                text = inv.number if how == 0 else "transfer"
                entries.append((str(amount), party, text, f"P-{n}"))
            bank_lines = import_lines(account, entries, actor=owner)
            check_bank(org, account)
            for kind, pick, choice in actions:
                line = BankLine.objects.get(pk=bank_lines[pick % len(bank_lines)].pk)
                try:
                    with transaction.atomic():
                        if kind == "confirm":
                            found = suggestions_for(line)
                            if not found:
                                continue
                            confirm_match(line, found[choice % len(found)].key, actor=owner)
                        elif kind == "undo":
                            unmatch_line(line, reason="property", actor=owner)
                        else:
                            reconcile_lines(account, [line.pk], actor=owner)
                except LedgerError:
                    pass  # refused: already matched, not matched, reconciled; nothing changed
                check_bank(org, account)
        transaction.set_rollback(True)
