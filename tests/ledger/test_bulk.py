"""The bulk door: same rules, same chain, same balances as `ledger.post`, written with COPY."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError, Line
from accounts.ledger_bulk import BulkEntry, bulk_post
from accounts.ledger_verify import verify_organization
from accounts.models import AccountDayTotal, CustomerBalance, JournalEntry, JournalLine, LedgerHead
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import flat_rates, sale

pytestmark = pytest.mark.django_db

TODAY = date.today()


@pytest.fixture
def bulk_org():
    org, owner = make_org()
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org, currency=cur) for cur in ("EUR", "EUR", "USD", "JPY")]
        flat_rates(org, {"USD": "0.92", "JPY": "0.0062"})
        yield org, owner, customers, system_accounts(org)


def entries_for(customers, acc, n, prefix="b"):
    """n entries: 3-line taxed sales, 2-line receipts and 2-line write-offs, in each customer's currency."""
    out = []
    for i in range(n):
        customer = customers[i % len(customers)]
        cur = customer.currency
        unit = Decimal(1) if cur == "JPY" else Decimal("0.01")
        amount = (Decimal(i * 37 % 5000 + 1) * unit)
        when = TODAY - timedelta(days=i % 30)
        if i % 3 == 0:
            tax = (amount / 10).quantize(unit)
            lines = [Line(acc["ar"], amount + tax, customer), Line(acc["revenue"], -amount, currency=cur)]
            if tax:
                lines.append(Line(acc["tax"], -tax, currency=cur))
        elif i % 3 == 1:
            lines = [Line(acc["bank"], amount, currency=cur), Line(acc["ar"], -amount, customer)]
        else:
            lines = [Line(acc["bad_debt"], amount, currency=cur), Line(acc["ar"], -amount, customer)]
        out.append(BulkEntry(lines, effective_date=when, idempotency_key=f"{prefix}:{i}", memo=f"opening {i}"))
    return out


def snapshot(org):
    return (
        {(b.customer_id, b.currency): b.amount for b in CustomerBalance.objects.filter(organization=org)
         if b.amount != 0},
        {(d.account_id, d.currency, d.day): d.amount for d in AccountDayTotal.objects.filter(organization=org)
         if d.amount != 0},
    )


def test_bulk_post_chains_sequences_and_balances_like_post(bulk_org):
    org, owner, customers, acc = bulk_org
    entries = entries_for(customers, acc, 60)
    result = bulk_post(org, entries, actor=owner, chunk_size=7)  # many chunk boundaries
    assert (result.posted, result.skipped, result.first_seq, result.last_seq) == (60, 0, 1, 60)
    assert result.lines == JournalLine.objects.count() == sum(len(e.lines) for e in entries)
    check = verify_organization(org)
    assert check.ok, check.problems
    assert check.entries == 60
    assert list(JournalEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 61))
    assert set(JournalEntry.objects.values_list("actor_id", flat=True)) == {owner.pk}
    head = LedgerHead.objects.get(organization=org)
    assert (head.last_seq, head.last_hash) == (60, JournalEntry.objects.get(seq=60).hash)
    bulk_state = snapshot(org)

    # The same entries through the one-at-a-time door in a second organization give the same balances.
    other, _ = make_org()
    with tenant_context(other):
        twins = [CustomerFactory(organization=other, currency=c.currency) for c in customers]
        flat_rates(other, {"USD": "0.92", "JPY": "0.0062"})
        acc2 = system_accounts(other)
        for e in entries_for(twins, acc2, 60):
            ledger.post(other, e.lines, effective_date=e.effective_date, idempotency_key=e.idempotency_key,
                        memo=e.memo)
        post_state = snapshot(other)
    rename = {c2.pk: c.pk for c, c2 in zip(customers, twins, strict=True)}
    accounts = {acc2[k].pk: acc[k].pk for k in acc}
    assert {(rename[c], cur): a for (c, cur), a in post_state[0].items()} == bulk_state[0]
    assert {(accounts[a], cur, d): v for (a, cur, d), v in post_state[1].items()} == bulk_state[1]
    for customer in customers:
        assert ledger.customer_balance(customer, as_of=TODAY - timedelta(days=10)) == sum(
            JournalLine.objects.filter(customer=customer, effective_date__lte=TODAY - timedelta(days=10))
            .values_list("amount", flat=True), Decimal(0))


def test_bulk_continues_the_chain_of_single_posts_and_single_posts_continue_it(bulk_org):
    org, _, customers, acc = bulk_org
    sale(org, customers[0], "10.00")
    sale(org, customers[1], "20.00")
    result = bulk_post(org, entries_for(customers, acc, 25))
    assert (result.first_seq, result.last_seq) == (3, 27)
    after = sale(org, customers[0], "5.00")
    assert after.seq == 28
    check = verify_organization(org)
    assert check.ok, check.problems
    assert check.entries == 28


def test_keys_already_posted_are_skipped_and_a_rerun_posts_nothing(bulk_org):
    org, _, customers, acc = bulk_org
    entries = entries_for(customers, acc, 12)
    ledger.post(org, entries[4].lines, effective_date=entries[4].effective_date,
                idempotency_key=entries[4].idempotency_key, memo=entries[4].memo)
    first = bulk_post(org, entries, collect_ids=True)
    assert (first.posted, first.skipped) == (11, 1)
    assert set(first.entry_ids) == {e.idempotency_key for e in entries}
    before = snapshot(org)
    again = bulk_post(org, entries)
    assert (again.posted, again.skipped, again.lines) == (0, 12, 0)
    assert JournalEntry.objects.count() == 12
    assert snapshot(org) == before
    assert verify_organization(org).ok


@pytest.mark.parametrize("bad, message", [
    ("unbalanced", "Entry 5 .*does not balance"),
    ("float", "Entry 5 .*Decimal"),
    ("currency", "Entry 5 .*does not match"),
    ("duplicate_key", "Entry 5: the idempotency key 'b:0' is used twice"),
    ("far_past", "Entry 5 .*ten years"),
])
def test_one_bad_entry_refuses_the_whole_batch_and_writes_nothing(bulk_org, bad, message):
    org, _, customers, acc = bulk_org
    sale(org, customers[0], "10.00")
    before = snapshot(org)
    entries = entries_for(customers, acc, 9, prefix="b")
    eur = customers[0]
    broken = {
        "unbalanced": BulkEntry([Line(acc["ar"], Decimal("10"), eur), Line(acc["revenue"], Decimal("-9"))],
                                effective_date=TODAY, idempotency_key="x"),
        "float": BulkEntry([Line(acc["ar"], 10.0, eur), Line(acc["revenue"], -10.0)],
                           effective_date=TODAY, idempotency_key="x"),
        "currency": BulkEntry([Line(acc["ar"], Decimal("1"), eur, "USD"),
                               Line(acc["revenue"], Decimal("-1"), None, "USD")],
                              effective_date=TODAY, idempotency_key="x"),
        "duplicate_key": BulkEntry(entries[0].lines, effective_date=TODAY, idempotency_key="b:0"),
        "far_past": BulkEntry(entries[0].lines, effective_date=TODAY - timedelta(days=4000), idempotency_key="x"),
    }[bad]
    entries[4] = broken
    with transaction.atomic():  # the caller's own transaction survives the refusal
        with pytest.raises(LedgerError, match=message):
            bulk_post(org, entries, chunk_size=3)  # the bad entry comes after a chunk was written
        assert JournalEntry.objects.count() == 1
        assert LedgerHead.objects.get(organization=org).last_seq == 1
        assert snapshot(org) == before
    assert verify_organization(org).ok


def test_a_customer_of_another_organization_is_refused(bulk_org):
    org, _, customers, acc = bulk_org
    other, _ = make_org()
    with tenant_context(other):
        foreign = CustomerFactory(organization=other)
    with pytest.raises(LedgerError, match="another organization"):
        bulk_post(org, [BulkEntry([Line(acc["ar"], Decimal("1"), foreign), Line(acc["revenue"], Decimal("-1"))],
                                  effective_date=TODAY, idempotency_key="f")])
    assert JournalEntry.objects.count() == 0


def test_an_empty_batch_changes_nothing(bulk_org):
    org, _, _, _ = bulk_org
    result = bulk_post(org, [])
    assert (result.posted, result.first_seq, result.last_seq) == (0, None, None)
    assert LedgerHead.objects.get(organization=org).last_seq == 0


def test_two_bulk_calls_in_one_transaction(bulk_org):
    org, _, customers, acc = bulk_org
    with transaction.atomic():
        bulk_post(org, entries_for(customers, acc, 5, prefix="one"))
        bulk_post(org, entries_for(customers, acc, 5, prefix="two"))
    check = verify_organization(org)
    assert check.ok and check.entries == 10


@pytest.mark.django_db(transaction=True)
def test_committed_bulk_load_passes_verify_ledger(capsys):
    org, owner = make_org()
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org, currency=cur) for cur in ("EUR", "USD")]
        flat_rates(org, {"USD": "0.92"})
        acc = system_accounts(org)
        result = bulk_post(org, entries_for(customers, acc, 300), actor=owner, chunk_size=128)
        assert result.posted == 300
        sale(org, customers[0], "1.00")  # the one-at-a-time door continues from the bulk's head
    call_command("verify_ledger", "--org", org.slug)
    out = capsys.readouterr().out
    assert "301 entries" in out and "OK" in out


def test_a_database_error_while_storing_rolls_back_the_batch_and_leaves_the_caller_usable(bulk_org):
    """The rows are stored by a helper thread; its error reaches the caller as Django's error,
    the batch is rolled back to its savepoint and the caller's transaction goes on."""
    from django.db import IntegrityError

    from accounts.models import Account

    org, _, customers, acc = bulk_org
    sale(org, customers[0], "10.00")
    before = snapshot(org)
    ghost = Account(organization=org, code="9999", name="never saved", type="asset")  # no id: NOT NULL fails
    entries = entries_for(customers, acc, 12)
    entries[9] = BulkEntry([Line(ghost, Decimal("1.00")), Line(acc["revenue"], Decimal("-1.00"))],
                           effective_date=TODAY, idempotency_key="ghost")
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            bulk_post(org, entries, chunk_size=4)
        assert JournalEntry.objects.count() == 1
        assert LedgerHead.objects.get(organization=org).last_seq == 1
        assert snapshot(org) == before
        sale(org, customers[0], "1.00")  # the transaction is still usable
    check = verify_organization(org)
    assert check.ok and check.entries == 2
