"""A bank line confirmed twice at the same moment (double click, two clerks) records one payment;
two overlapping statements committed at once add each line once."""

from decimal import Decimal

import pytest

from accounts.ledger import LedgerError
from ledger_site.tenancy import tenant_context
from payments.bank import commit_import, confirm_match, stage_import
from payments.models import Payment
from payments.models_bank import BankLine
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.bank_helpers import bank_account, camt, import_lines
from tests.payments.helpers import check_invariants

pytestmark = pytest.mark.django_db(transaction=True)


def test_double_confirm_at_once_posts_exactly_once():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        invoice = issued(org, customer, [("Work", "1", "121.00", None)])
        account = bank_account(org)
        line, = import_lines(account, [("121.00", "X", invoice.number, "B-1")])

    def confirm(i):
        try:
            return ("ok", confirm_match(line, f"inv:{invoice.pk}", actor=owner).payment_id)
        except LedgerError as e:
            return ("refused", " ".join(e.messages))

    outcomes = run_at_once(2, confirm, org=org, actor=owner)
    assert sorted(k for k, _ in outcomes) == ["ok", "refused"], outcomes
    assert "already matched" in next(m for k, m in outcomes if k == "refused")
    with tenant_context(org, owner):
        assert Payment.objects.filter(organization=org).count() == 1
        assert BankLine.objects.get(pk=line.pk).payment_id == Payment.objects.get().pk
        check_invariants(org)


def test_overlapping_statements_committed_at_once_add_each_line_once():
    org, owner = make_org()
    with tenant_context(org, owner):
        account = bank_account(org)
        files = [stage_import(account, filename=f"{i}.xml", data=camt(entries))
                 for i, entries in enumerate([[("10.00", "A", "x", "B-1"), ("20.00", "B", "y", "B-2")],
                                              [("20.00", "B", "y", "B-2"), ("30.00", "C", "z", "B-3")]])]

    outcomes = run_at_once(2, lambda i: commit_import(files[i]).lines_added, org=org, actor=owner)
    assert sorted(outcomes) == [1, 2]
    with tenant_context(org, owner):
        assert sorted(BankLine.objects.values_list("amount", flat=True)) == [Decimal(10), Decimal(20), Decimal(30)]


def test_two_debit_lines_linking_one_refund_at_once_link_it_once():
    """Each line has its own row lock, so only the unique (organization, entry) index stands between
    two clerks linking two identical debits to the same refund: one wins, the other is told."""
    from accounts.chart import system_accounts
    from payments.services import refund_payment
    from tests.payments.helpers import key, pay

    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        payment = pay(org, customer, "80.00", allocation="none")
        refund = refund_payment(payment, amount=Decimal("30.00"), refund_date=payment.received_date,
                                method="bank_transfer", account=system_accounts(org)["bank"], idempotency_key=key())
        account = bank_account(org)
        lines = import_lines(account, [("-30.00", "X", "refund", "B-1"), ("-30.00", "X", "refund", "B-2")])

    def link(i):
        try:
            return ("ok", confirm_match(lines[i], f"entry:{refund.entry_id}", actor=owner).pk)
        except LedgerError as e:
            return ("refused", " ".join(e.messages))

    outcomes = run_at_once(2, link, org=org, actor=owner)
    assert sorted(k for k, _ in outcomes) == ["ok", "refused"], outcomes
    message = next(m for k, m in outcomes if k == "refused")
    # At the same moment the unique index refuses the second; a moment later the suggestion is gone.
    assert "already seen on another bank line" in message or "no longer applies" in message, message
    with tenant_context(org, owner):
        assert BankLine.objects.filter(entry_id=refund.entry_id).count() == 1
        check_invariants(org)
