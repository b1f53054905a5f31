"""Property-based: random sequences of postings and reversals keep DESIGN.md invariants 1-7.

Each Hypothesis example builds its own organization inside a transaction that is rolled
back at the end, so examples never see each other's rows (the `db` fixture is function
scoped; the savepoint per example is what isolates them). A plain Python model of every
customer's balance runs alongside and must agree with the ledger exactly.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError, Line
from accounts.ledger_verify import verify_organization
from accounts.models import CustomerBalance, JournalEntry, JournalLine
from accounts.money import minor_units
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import flat_rates

pytestmark = pytest.mark.django_db

# Customers of one organization (base EUR) in currencies with 2, 0 and 3 decimals.
CURRENCIES = ["EUR", "EUR", "USD", "JPY", "KWD"]
TODAY = date.today()

customer_ix = st.integers(min_value=0, max_value=len(CURRENCIES) - 1)
minor = st.integers(min_value=1, max_value=5_000_000)  # an amount in the currency's minor unit
days_back = st.integers(min_value=0, max_value=40)

operations = st.one_of(
    st.tuples(st.just("sale"), customer_ix, minor, st.integers(0, 30), days_back),  # net, tax % → 2 or 3 lines
    st.tuples(st.just("receipt"), customer_ix, minor, st.sampled_from(["bank", "cash", "card"]), days_back),
    st.tuples(st.just("credit_note"), customer_ix, minor, st.integers(0, 30), days_back),
    st.tuples(st.just("write_off"), customer_ix, minor, days_back),
    st.tuples(st.just("refund"), customer_ix, minor, days_back),
    st.tuples(st.just("late_fee"), customer_ix, minor, days_back),
    st.tuples(st.just("two_currencies"), customer_ix, customer_ix, minor, minor, days_back),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=10_000), days_back),
    st.tuples(st.just("replay"), st.integers(min_value=0, max_value=10_000)),
)


def money(n: int, currency: str) -> Decimal:
    return Decimal(n).scaleb(-minor_units(currency))


class Model:
    """What the ledger should contain, computed without it."""

    def __init__(self, org, customers):
        self.org, self.customers = org, customers
        self.acc = system_accounts(org)
        self.posted = []  # (entry id, key, seq, hash, reversed?) in posting order
        self.reversed = set()
        self.reversals = set()
        self.by_key = {}
        self.ar_moves = []  # (customer index, effective date, signed amount)
        self.n = 0

    def lines_for(self, op):
        """Lines and the AR movements they make, for a posting operation."""
        kind, acc = op[0], self.acc
        if kind == "two_currencies":
            _, a, b, x, y, _d = op
            ca, cb = self.customers[a], self.customers[b]
            xa, yb = money(x, ca.currency), money(y, cb.currency)
            lines = [Line(acc["ar"], xa, ca), Line(acc["revenue"], -xa, currency=ca.currency),
                     Line(acc["bank"], yb, currency=cb.currency), Line(acc["ar"], -yb, cb)]
            return lines, [(a, xa), (b, -yb)]
        ix, n = op[1], op[2]
        customer = self.customers[ix]
        cur = customer.currency
        amount = money(n, cur)
        if kind in ("sale", "credit_note"):
            tax = (amount * op[3] / 100).quantize(money(1, cur))
            total = amount + tax
            sign = 1 if kind == "sale" else -1
            lines = [Line(acc["ar"], sign * total, customer),
                     Line(acc["revenue" if kind == "sale" else "returns"], -sign * amount, currency=cur)]
            if tax:
                lines.append(Line(acc["tax"], -sign * tax, currency=cur))
            return lines, [(ix, sign * total)]
        if kind == "receipt":
            return [Line(acc[op[3]], amount, currency=cur), Line(acc["ar"], -amount, customer)], [(ix, -amount)]
        if kind == "write_off":
            return [Line(acc["bad_debt"], amount, currency=cur), Line(acc["ar"], -amount, customer)], [(ix, -amount)]
        if kind == "refund":
            return [Line(acc["ar"], amount, customer), Line(acc["bank"], -amount, currency=cur)], [(ix, amount)]
        if kind == "late_fee":
            return [Line(acc["ar"], amount, customer), Line(acc["late_fee"], -amount, currency=cur)], [(ix, amount)]
        raise AssertionError(kind)

    def apply(self, op):
        kind = op[0]
        if kind == "replay":
            return self.replay(op[1])
        if kind == "reverse":
            return self.reverse(op[1], TODAY - timedelta(days=op[2]))
        lines, moves = self.lines_for(op)
        when = TODAY - timedelta(days=op[-1])
        self.n += 1
        key = f"op:{self.n}"
        entry = ledger.post(self.org, lines, effective_date=when, idempotency_key=key, memo=f"{kind} {self.n}")
        self.record(entry, key)
        self.ar_moves += [(ix, when, amount) for ix, amount in moves]

    def record(self, entry, key):
        assert entry.seq == len(self.posted) + 1, "sequence numbers are gapless and in posting order"
        self.posted.append((entry.pk, key, entry.seq, entry.hash))
        self.by_key[key] = entry.pk

    def reverse(self, pick, when):
        if not self.posted:
            return
        entry_id, *_ = self.posted[pick % len(self.posted)]
        entry = JournalEntry.objects.get(pk=entry_id)
        if entry_id in self.reversed or entry_id in self.reversals:
            before = JournalEntry.objects.count()
            with pytest.raises(LedgerError, match="already been reversed|itself a reversal"):
                ledger.reverse(entry, reason="again", effective_date=when)
            assert JournalEntry.objects.count() == before, "a refused reversal writes nothing"
            return
        key = f"reversal:{entry_id}"
        rev = ledger.reverse(entry, reason="property test", effective_date=when, idempotency_key=key)
        assert rev.reverses_id == entry_id
        self.record(rev, key)
        self.reversed.add(entry_id)
        self.reversals.add(rev.pk)
        for line in JournalLine.objects.filter(entry_id=entry_id, customer__isnull=False):
            ix = next(i for i, c in enumerate(self.customers) if c.pk == line.customer_id)
            self.ar_moves.append((ix, when, -line.amount))

    def replay(self, pick):
        """Post again with a key already used: the same lines bring the first entry back; different
        lines are refused (never answered with the first entry). Neither posts anything."""
        if not self.posted:
            return
        entry_id, key, *_ = self.posted[pick % len(self.posted)]
        before = JournalEntry.objects.count()
        first = JournalEntry.objects.get(pk=entry_id)
        same = [Line(li.account, li.amount, li.customer, li.currency)
                for li in first.lines.select_related("account", "customer").order_by("line_no")]
        again = ledger.post(self.org, same, effective_date=TODAY, idempotency_key=key)
        assert again.pk == entry_id
        acc, customer = self.acc, self.customers[0]
        other = [Line(acc["ar"], Decimal("1"), customer), Line(acc["revenue"], Decimal("-1"))]
        if [(li.account.pk, li.amount, li.customer) for li in same] == [(li.account.pk, li.amount, li.customer)
                                                                         for li in other]:
            other = [Line(acc["ar"], Decimal("2"), customer), Line(acc["revenue"], Decimal("-2"))]
        with pytest.raises(LedgerError, match="already used by entry .* with different lines"):
            ledger.post(self.org, other, effective_date=TODAY, idempotency_key=key)
        assert JournalEntry.objects.count() == before

    def expected_balance(self, ix, as_of=None):
        return sum((a for i, d, a in self.ar_moves if i == ix and (as_of is None or d <= as_of)), Decimal(0))


def check_invariants(model: Model):
    org, acc = model.org, model.acc
    # 1. Every entry balances to zero per currency.
    with connection.cursor() as c:
        c.execute("SELECT entry_id, currency FROM accounts_journalline GROUP BY entry_id, currency "
                  "HAVING sum(amount) <> 0")
        assert c.fetchall() == []
    # 2. Rows written earlier are unchanged: every stored hash is the one returned when posting.
    stored = dict(JournalEntry.objects.values_list("pk", "hash"))
    assert stored == {pk: digest for pk, _key, _seq, digest in model.posted}
    # 3. Customer balance = sum of its AR lines = the maintained row = the model.
    maintained = {(b.customer_id, b.currency): b.amount for b in CustomerBalance.objects.all()}
    per_currency = defaultdict(Decimal)
    for ix, customer in enumerate(model.customers):
        expected = model.expected_balance(ix)
        from_lines = sum(JournalLine.objects.filter(customer=customer, account=acc["ar"])
                         .values_list("amount", flat=True), Decimal(0))
        assert from_lines == expected
        assert maintained.get((customer.pk, customer.currency), Decimal(0)) == expected
        assert ledger.customer_balance(customer) == expected
        for back in (3, 17):
            as_of = TODAY - timedelta(days=back)
            assert ledger.customer_balance(customer, as_of=as_of) == model.expected_balance(ix, as_of)
        per_currency[customer.currency] += expected
    assert all(isinstance(v, Decimal) for v in maintained.values())
    # Only receivable lines carry a customer, and every one does.
    assert not JournalLine.objects.filter(account=acc["ar"], customer__isnull=True).exists()
    assert not JournalLine.objects.exclude(account=acc["ar"]).filter(customer__isnull=False).exists()
    # 4. AR control = sum of customer balances, per currency.
    for currency in set(CURRENCIES):
        assert ledger.account_balance(acc["ar"], currency=currency) == per_currency[currency]
    # The trial balance's columns are equal per currency.
    debit, credit = defaultdict(Decimal), defaultdict(Decimal)
    for row in ledger.trial_balance(org):
        debit[row.currency] += row.debit
        credit[row.currency] += row.credit
    assert debit == credit
    # 6. Sequence 1..n without gaps, the chain verifies.
    seqs = list(JournalEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(model.posted) + 1))
    result = verify_organization(org)
    assert result.ok, result.problems
    assert result.entries == len(model.posted)
    # 7. Every key was posted once.
    keys = list(JournalEntry.objects.values_list("idempotency_key", flat=True))
    assert sorted(keys) == sorted(model.by_key)


def _run(ops):
    with transaction.atomic():
        org, owner = make_org()
        with tenant_context(org, owner):
            customers = [CustomerFactory(organization=org, currency=cur) for cur in CURRENCIES]
            flat_rates(org, {"USD": "0.921659", "JPY": "0.0061", "KWD": "2.98"}, start=TODAY - timedelta(days=50),
                       end=TODAY)
            model = Model(org, customers)
            for op in ops:
                model.apply(op)
            check_invariants(model)
        transaction.set_rollback(True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(ops=st.lists(operations, min_size=1, max_size=30))
def test_random_postings_and_reversals_keep_the_invariants(ops):
    _run(ops)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(
    st.tuples(st.just("sale"), customer_ix, minor, st.integers(0, 30), days_back),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=10_000), days_back),
), min_size=5, max_size=40))
def test_reversal_heavy_sequences_keep_the_invariants(ops):
    """Many reversals: reversing twice and reversing a reversal are refused and change nothing."""
    _run(ops)
