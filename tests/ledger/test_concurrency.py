"""Concurrency: many threads post to one organization at once (DESIGN.md invariants 6 and 7).

Each thread has its own database connection (Django connections are per thread), enters the
tenant context itself and closes its connection at the end. Rows are committed, so these are
transactional tests.
"""

import threading
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError, Line
from accounts.ledger_verify import verify_organization
from accounts.models import CustomerBalance, JournalEntry, JournalLine
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
# 8 × 500 = 4,000 postings run in about 10-20 s on a 2-core machine (postings to one
# organization serialize on its ledger head; the test measures correctness, not speed).
PER_THREAD = 500


def run_threads(n, target, *args):
    """Start n threads running target(i, *args); re-raise the first exception any of them hit."""
    errors, results = [], [None] * n

    def wrapper(i):
        try:
            results[i] = target(i, *args)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapper, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a posting thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def org_with_customers():
    org, owner = make_org()
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org) for _ in range(5)]
        acc = system_accounts(org)
    return org, customers, acc


def test_eight_threads_posting_at_once_leave_no_gaps_and_exact_balances(org_with_customers):
    org, customers, acc = org_with_customers

    def poster(i):
        expected = defaultdict(Decimal)
        with tenant_context(org):
            for n in range(PER_THREAD):
                customer = customers[(i + n) % len(customers)]
                amount = Decimal(n % 97 + 1) + Decimal(i) / 100
                if n % 3 == 2:  # a receipt
                    lines = [Line(acc["bank"], amount), Line(acc["ar"], -amount, customer)]
                    expected[customer.pk] -= amount
                else:  # a taxed sale, three lines
                    tax = (amount / 5).quantize(Decimal("0.01"))
                    lines = [Line(acc["ar"], amount + tax, customer), Line(acc["revenue"], -amount),
                             Line(acc["tax"], -tax)]
                    expected[customer.pk] += amount + tax
                ledger.post(org, lines, effective_date=_today(), idempotency_key=f"t{i}:{n}", memo=f"t{i} #{n}")
        return expected

    results = run_threads(THREADS, poster)
    expected = defaultdict(Decimal)
    for partial in results:
        for pk, amount in partial.items():
            expected[pk] += amount

    total = THREADS * PER_THREAD
    with tenant_context(org):
        seqs = list(JournalEntry.objects.filter(organization=org).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, total + 1)), "no gaps, no duplicates"
        result = verify_organization(org)
        assert result.ok, result.problems[:5]
        assert result.entries == total
        for customer in customers:
            assert ledger.customer_balance(customer) == expected[customer.pk]
            lines_sum = sum(JournalLine.objects.filter(customer=customer).values_list("amount", flat=True),
                            Decimal(0))
            assert lines_sum == expected[customer.pk]
        assert ledger.account_balance(acc["ar"]) == sum(expected.values())
        assert sum(CustomerBalance.objects.values_list("amount", flat=True)) == sum(expected.values())


def test_fifty_posts_with_one_idempotency_key_give_exactly_one_entry(org_with_customers):
    org, customers, acc = org_with_customers
    customer = customers[0]
    n = 50
    barrier = threading.Barrier(n, timeout=60)

    def poster(i):
        with tenant_context(org):  # opens this thread's connection before the race starts
            lines = [Line(acc["ar"], Decimal("99.95"), customer), Line(acc["revenue"], Decimal("-99.95"))]
            barrier.wait()
            entry = ledger.post(org, lines, effective_date=_today(), idempotency_key="one-key",
                                memo=f"caller {i}")
            return entry.pk, entry.seq

    results = run_threads(n, poster)
    assert len(set(results)) == 1, "every caller gets the same entry"
    with tenant_context(org):
        assert JournalEntry.objects.filter(organization=org).count() == 1
        entry = JournalEntry.objects.get(organization=org)
        assert (entry.pk, entry.seq) == results[0]
        assert ledger.customer_balance(customer) == Decimal("99.95")
        assert verify_organization(org).ok


def test_two_concurrent_reversals_of_one_entry_write_one_reversal(org_with_customers):
    org, customers, acc = org_with_customers
    customer = customers[0]
    with tenant_context(org):
        entry = ledger.post(org, [Line(acc["ar"], Decimal("40.00"), customer), Line(acc["revenue"], Decimal("-40"))],
                            effective_date=_today(), idempotency_key="to-reverse")
        entry = JournalEntry.objects.get(pk=entry.pk)
    barrier = threading.Barrier(2, timeout=60)

    def reverser(i):
        with tenant_context(org):
            barrier.wait()
            try:
                # Different keys: not an idempotent retry but two people pressing "reverse".
                rev = ledger.reverse(entry, reason=f"clerk {i}", idempotency_key=f"reverse-by-{i}")
            except (LedgerError, IntegrityError) as e:
                return ("refused", str(e))
            return ("posted", rev.pk)

    outcomes = run_threads(2, reverser)
    assert sorted(kind for kind, _ in outcomes) == ["posted", "refused"], outcomes
    with tenant_context(org):
        assert JournalEntry.objects.filter(organization=org).count() == 2
        assert JournalEntry.objects.filter(reverses=entry).count() == 1
        assert ledger.customer_balance(customer) == 0
        assert verify_organization(org).ok


def test_two_concurrent_retries_of_one_reversal_return_the_same_entry(org_with_customers):
    """The default key makes a double-click on "reverse" idempotent: both get the one reversal."""
    org, customers, acc = org_with_customers
    customer = customers[1]
    with tenant_context(org):
        entry = ledger.post(org, [Line(acc["ar"], Decimal("15.00"), customer), Line(acc["revenue"], Decimal("-15"))],
                            effective_date=_today(), idempotency_key="to-reverse")
        entry = JournalEntry.objects.get(pk=entry.pk)
    barrier = threading.Barrier(2, timeout=60)

    def reverser(_i):
        with tenant_context(org):
            barrier.wait()
            try:
                return ("posted", ledger.reverse(entry, reason="double click").pk)
            except LedgerError as e:
                # The loser may also see the winner's committed reversal before posting.
                return ("refused", str(e))

    outcomes = run_threads(2, reverser)
    posted = {pk for kind, pk in outcomes if kind == "posted"}
    assert len(posted) == 1, outcomes
    assert all("already been reversed" in msg for kind, msg in outcomes if kind == "refused")
    with tenant_context(org):
        assert JournalEntry.objects.filter(organization=org).count() == 2
        assert ledger.customer_balance(customer) == 0
        assert verify_organization(org).ok


def _today():
    from django.utils import timezone

    return timezone.localdate()
