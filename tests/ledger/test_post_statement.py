"""The one-statement posting path: what it returns is what it stored, and what it refuses."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError, Line
from accounts.ledger_chain import chain_hash
from accounts.ledger_verify import verify_organization
from accounts.models import JournalEntry, JournalLine, LedgerHead
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def posting_accounts():
    org, owner = make_org()
    with tenant_context(org, owner):
        yield org, owner, CustomerFactory(organization=org), system_accounts(org)


def test_the_returned_entry_is_the_stored_row(posting_accounts):
    org, owner, customer, acc = posting_accounts
    first = sale(org, customer, "1.00")
    entry = ledger.post(org, [Line(acc["ar"], Decimal("121.00"), customer), Line(acc["revenue"], Decimal("-100")),
                              Line(acc["tax"], Decimal("-21"))],
                        effective_date=date.today(), idempotency_key="invoice:1:issue", memo='Invoice "1" — ü',
                        actor=owner, source=("invoicing.invoice", 1), source_label="INV-1")
    stored = JournalEntry.objects.get(pk=entry.pk)
    fields = ["organization_id", "seq", "effective_date", "posted_at", "memo", "source_type", "source_id",
              "source_label", "actor_id", "idempotency_key", "reverses_id", "reason", "prev_hash", "hash",
              "hash_version"]
    assert {f: getattr(entry, f) for f in fields} == {f: getattr(stored, f) for f in fields}
    assert (entry.seq, entry.prev_hash) == (2, first.hash)
    lines = [(line.line_no, line.account_id, line.customer_id, line.currency, line.amount, line.base_amount)
             for line in JournalLine.objects.filter(entry_id=entry.pk).order_by("line_no")]
    head = {"seq": 2, "organization_id": org.pk, "effective_date": date.today().isoformat(), "memo": entry.memo,
            "source_type": "invoicing.invoice", "source_id": 1, "idempotency_key": "invoice:1:issue",
            "reverses_id": None, "version": 3, "actor_id": owner.pk, "reason": "", "posted_at": stored.posted_at}
    # The database computed the hash; the Python definition reproduces it.
    assert chain_hash(first.hash, head, lines) == stored.hash
    assert LedgerHead.objects.get(organization=org).last_hash == stored.hash


def test_an_entry_with_two_lines_for_one_customer_moves_its_balance_once(posting_accounts):
    org, _, customer, acc = posting_accounts
    ledger.post(org, [Line(acc["ar"], Decimal("10"), customer), Line(acc["ar"], Decimal("5"), customer),
                      Line(acc["revenue"], Decimal("-15"))], effective_date=date.today(), idempotency_key="two")
    assert ledger.customer_balance(customer) == Decimal("15")
    assert ledger.account_balance(acc["ar"]) == Decimal("15")
    assert verify_organization(org).ok


def test_a_head_out_of_step_with_the_journal_is_refused_and_writes_nothing(posting_accounts):
    """If the head were behind the journal (only tampering does that), the next sequence
    number is taken: the post is refused with a message instead of an integrity error."""
    org, _, customer, _ = posting_accounts
    sale(org, customer, "10.00")
    sale(org, customer, "10.00")
    with connection.cursor() as c:
        c.execute("UPDATE accounts_ledgerhead SET last_seq = 1 WHERE organization_id = %s", [org.pk])
    with pytest.raises(LedgerError, match="out of step"):
        sale(org, customer, "5.00")
    assert JournalEntry.objects.count() == 2
    assert ledger.customer_balance(customer) == Decimal("20.00")


def test_reversing_an_entry_already_reversed_under_another_key_is_refused(posting_accounts):
    org, _, customer, acc = posting_accounts
    entry = sale(org, customer, "30.00")
    ledger.reverse(entry, reason="first", idempotency_key="r1")
    lines = [Line(acc["ar"], Decimal("-30.00"), customer), Line(acc["revenue"], Decimal("30.00"))]
    with pytest.raises(LedgerError, match="already been reversed"):
        # Past reverse()'s own check: post() itself refuses a second reversal.
        ledger.post(org, lines, effective_date=date.today(), idempotency_key="r2", reverses=entry, reason="again")
    assert JournalEntry.objects.count() == 2
    assert ledger.customer_balance(customer) == 0
