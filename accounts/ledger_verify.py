"""Recompute what the ledger promises (DESIGN.md invariants 1, 3, 4, 6) from the journal rows.

Streams an organization's entries in sequence order with a server-side cursor and checks:
the sequence has no gaps, each entry links to the previous hash and its own hash recomputes,
each entry balances per currency, receivable lines (and only they) carry a customer, the
maintained customer balances and account day totals equal the recomputed sums, AR control
equals the sum of customer balances, and the ledger head points at the last entry.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction

from accounts.chart import GENESIS_HASH
from accounts.ledger_chain import chain_hash
from accounts.models_ledger import Account, AccountDayTotal, CustomerBalance, LedgerHead

_ENTRY_LINES_SQL = """
SELECT e.id, e.seq, e.effective_date, e.memo, e.source_type, e.source_id, e.idempotency_key,
       e.reverses_id, e.prev_hash, e.hash, l.line_no, l.account_id, l.customer_id, l.currency, l.amount,
       l.effective_date
FROM accounts_journalentry e
JOIN accounts_journalline l ON l.entry_id = e.id
WHERE e.organization_id = %s
ORDER BY e.seq, l.line_no
"""


@dataclass
class VerifyResult:
    organization: str
    entries: int = 0
    lines: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str, seq: int | None = None) -> None:
        if self.first_bad_seq is None and seq is not None:
            self.first_bad_seq = seq
        self.problems.append(message)


class _Chain:
    """Checks one entry at a time, in sequence order."""

    def __init__(self, result: VerifyResult, org_id: int, ar_ids: set[int]):
        self.result, self.org_id, self.ar_ids = result, org_id, ar_ids
        self.expected_seq, self.prev_hash = 1, GENESIS_HASH
        self.customer_sums = defaultdict(Decimal)
        self.day_sums = defaultdict(Decimal)

    def check(self, head_row, lines):
        (_id, seq, eff, memo, source_type, source_id, key, reverses_id, prev_hash, stored_hash) = head_row
        r = self.result
        r.entries += 1
        r.lines += len(lines)
        if seq != self.expected_seq:
            r.fail(f"entry #{seq}: sequence gap, expected #{self.expected_seq}", seq)
        if prev_hash != self.prev_hash:
            r.fail(f"entry #{seq}: does not link to the previous entry's hash", seq)
        header = {"seq": seq, "organization_id": self.org_id, "effective_date": eff.isoformat(), "memo": memo,
                  "source_type": source_type, "source_id": source_id, "idempotency_key": key,
                  "reverses_id": reverses_id}
        chain_lines = [(no, account, customer, currency, amount)
                       for no, account, customer, currency, amount, _d in lines]
        if chain_hash(prev_hash, header, chain_lines) != stored_hash:
            r.fail(f"entry #{seq}: hash does not match its contents (altered after posting)", seq)
        per_currency = defaultdict(Decimal)
        for _no, account, customer, currency, amount, line_date in lines:
            per_currency[currency] += amount
            if (account in self.ar_ids) != (customer is not None):
                r.fail(f"entry #{seq}: a customer must be on receivable lines and only there", seq)
            if line_date != eff:
                r.fail(f"entry #{seq}: a line's date differs from the entry's", seq)
            if customer is not None:
                self.customer_sums[(customer, currency)] += amount
            self.day_sums[(account, currency, eff)] += amount
        if any(total != 0 for total in per_currency.values()):
            r.fail(f"entry #{seq}: does not balance to zero per currency", seq)
        self.expected_seq, self.prev_hash = seq + 1, stored_hash


def verify_organization(org) -> VerifyResult:
    result = VerifyResult(organization=org.slug)
    ar_ids = set(Account.objects.filter(organization=org, system_key="ar").values_list("pk", flat=True))
    chain = _Chain(result, org.pk, ar_ids)
    fresh_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if fresh_transaction:
            # One snapshot for the whole check: postings that land meanwhile are not half-seen.
            with connection.cursor() as c:
                c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _stream(org.pk, chain)
        head = LedgerHead.objects.filter(organization=org).first()
        _compare_maintained(org, chain, head, result)
    return result


def _stream(org_id, chain):
    cursor = connection.chunked_cursor()
    cursor.execute(_ENTRY_LINES_SQL, [org_id])
    current, lines = None, []
    while True:
        rows = cursor.fetchmany(5000)
        if not rows:
            break
        for row in rows:
            if current is None or row[0] != current[0]:
                if current is not None:
                    chain.check(current, lines)
                current, lines = row[:10], []
            lines.append(row[10:])
    if current is not None:
        chain.check(current, lines)
    cursor.close()


def _compare_maintained(org, chain, head, result):
    last_seq = chain.expected_seq - 1
    if head is None:
        result.fail("the organization has no ledger head")
    elif head.last_seq != last_seq or head.last_hash != chain.prev_hash:
        result.fail(f"ledger head says #{head.last_seq}, the journal ends at #{last_seq}")
    stored = {(b.customer_id, b.currency): b.amount for b in CustomerBalance.objects.filter(organization=org)}
    for key in set(stored) | set(chain.customer_sums):
        if stored.get(key, Decimal(0)) != chain.customer_sums.get(key, Decimal(0)):
            result.fail(f"customer {key[0]}: maintained balance {stored.get(key, 0)} {key[1]} differs "
                        f"from its journal lines {chain.customer_sums.get(key, 0)}")
    days = {(d.account_id, d.currency, d.day): d.amount for d in AccountDayTotal.objects.filter(organization=org)}
    for key in set(days) | set(chain.day_sums):
        if days.get(key, Decimal(0)) != chain.day_sums.get(key, Decimal(0)):
            result.fail(f"account {key[0]} on {key[2]}: day total differs from its journal lines")
    ar_control = defaultdict(Decimal)
    for (account, currency, _day), amount in days.items():
        if account in chain.ar_ids:
            ar_control[currency] += amount
    customers_total = defaultdict(Decimal)
    for (_customer, currency), amount in stored.items():
        customers_total[currency] += amount
    for currency in set(ar_control) | set(customers_total):
        if ar_control[currency] != customers_total[currency]:
            result.fail(f"AR control {ar_control[currency]} {currency} differs from the sum of customer "
                        f"balances {customers_total[currency]}")
