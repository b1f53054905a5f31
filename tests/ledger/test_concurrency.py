"""Concurrency: many threads post to one organization at once (DESIGN.md invariants 6 and 7).

Threads run through tests.concurrency.run_at_once (one connection each, in the organization's
context). Rows are committed, so these are transactional tests.
"""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import IntegrityError

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError, Line
from accounts.ledger_verify import verify_organization
from accounts.models import CustomerBalance, JournalEntry, JournalLine
from ledger_site.tenancy import tenant_context
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
# 8 × 500 = 4,000 postings run in about 10-20 s on a 2-core machine (postings to one
# organization serialize on its ledger head; the test measures correctness, not speed).
PER_THREAD = 500


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

    results = run_at_once(THREADS, poster, org=org, timeout=600)
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
    lines = [Line(acc["ar"], Decimal("99.95"), customer), Line(acc["revenue"], Decimal("-99.95"))]

    def poster(i):
        entry = ledger.post(org, lines, effective_date=_today(), idempotency_key="one-key", memo=f"caller {i}")
        return entry.pk, entry.seq

    results = run_at_once(50, poster, org=org)
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

    def reverser(i):
        try:
            # Different keys: not an idempotent retry but two people pressing "reverse".
            rev = ledger.reverse(entry, reason=f"clerk {i}", idempotency_key=f"reverse-by-{i}")
        except (LedgerError, IntegrityError) as e:
            return ("refused", str(e))
        return ("posted", rev.pk)

    outcomes = run_at_once(2, reverser, org=org)
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

    def reverser(_i):
        try:
            return ("posted", ledger.reverse(entry, reason="double click").pk)
        except LedgerError as e:
            # The loser may also see the winner's committed reversal before posting.
            return ("refused", str(e))

    outcomes = run_at_once(2, reverser, org=org)
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
