"""Recompute what the ledger promises (DESIGN.md invariants 1, 3, 4, 6) from the journal rows.

Everything is checked in one snapshot (REPEATABLE READ when we start the transaction ourselves):

- the chain's order: sequence numbers run 1, 2, 3 ... without gaps, each entry's prev_hash is
  the previous entry's hash, the ledger head points at the last entry;
- each entry's content: its hash recomputes from its fields and lines (the canonical form of
  accounts.ledger_chain), every line carries the entry's date, no line belongs to an entry
  outside this journal;
- each entry balances to zero per currency, and (hash version 3, issue 17) its lines' base-currency
  amounts balance to zero too; receivable lines, and only they, carry a customer;
- derived data: each maintained customer balance and account day total equals the sum of its
  journal lines; AR control equals the sum of customer balances.

How it is fast (the benchmark's target is 100,000 entries/s): the database does the per-row work.
The journal is split into id ranges of about CHUNK entries; for each, one query rebuilds every
entry's canonical form from its row and its lines (ledger_chain.canonical_sql, the same bytes as
the Python form posting hashes) and hashes it (sha256()), counts, balances and date-checks its
lines, checks the receivable rule and the order within the chunk, and returns only the chunk's
first and last entries (Python joins the chunks at those seams) and the entries with a problem: no
canonical text is built, and no row is sent, per entry in Python. The chunks are sent in one
pipeline, alternating between this connection and, when verify started the transaction itself and
the journal is longer than one chunk, a second connection that shares this transaction's snapshot
(another server process, another core); the account day totals and the customer sums are summed
by the server meanwhile.
An entry whose hash the database finds wrong (or of a canonical version canonical_sql does not
know) is recomputed once more the general way in Python (`ledger_chain.chain_hash`) before it is
reported, so the fast path can cost a false alarm's recheck but never hide a mismatch; only if the
ids are not in sequence order (data loaded some other way) does one SQL window query over the
(organization, seq) index check the order instead. The incremental check
(accounts.ledger_verify_incremental) still walks its few new entries with the Python `_Walk`.

Problems are reported in sequence order; `first_bad_seq` names the first broken entry.
"""

import hashlib
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _json_str

import psycopg
from django.db import connection, transaction
from psycopg import sql

from accounts.chart import GENESIS_HASH
from accounts.ledger_chain import base_sql, chain_hash, chain_hash_sql, line_sql
from accounts.ledger_verify_seals import verify_seals_and_subledger
from accounts.models_ledger import Account

CHUNK = 20_000

_ORDER_SQL = """
SELECT seq, prev_seq, prev_hash, prev_stored_hash FROM (
    SELECT seq, prev_hash, lag(seq) OVER w AS prev_seq, lag(hash) OVER w AS prev_stored_hash
    FROM accounts_journalentry WHERE organization_id = %s
    WINDOW w AS (ORDER BY seq)
) chain
WHERE seq <> coalesce(prev_seq, 0) + 1 OR prev_hash <> coalesce(prev_stored_hash, %s)
ORDER BY seq
"""
_HEAD_SQL = """
SELECT h.last_seq, h.last_hash, last.seq, last.hash
FROM (SELECT 1) one
LEFT JOIN accounts_ledgerhead h ON h.organization_id = %s
LEFT JOIN LATERAL (SELECT seq, hash FROM accounts_journalentry WHERE organization_id = %s
                   ORDER BY seq DESC LIMIT 1) last ON true
"""
_CUSTOMER_BALANCES_SQL = "SELECT customer_id, currency, amount FROM accounts_customerbalance WHERE organization_id = %s"
_DAY_TOTALS_SQL = "SELECT account_id, currency, day, amount FROM accounts_accountdaytotal WHERE organization_id = %s"
# The day totals the journal's lines add up to, against the maintained ones: only differences.
_DAY_SUMS_SQL = """
SELECT account_id, currency, day FROM (
    SELECT account_id, currency, effective_date AS day, sum(amount) AS amount FROM accounts_journalline
    WHERE organization_id = %s GROUP BY account_id, currency, effective_date
) s FULL JOIN (
    SELECT account_id, currency, day, amount FROM accounts_accountdaytotal WHERE organization_id = %s
) d USING (account_id, currency, day)
WHERE coalesce(s.amount, 0) <> coalesce(d.amount, 0)
ORDER BY account_id, currency, day
"""
_AR_CONTROL_SQL = """
SELECT currency, sum(ar), sum(customers) FROM (
    SELECT currency, amount AS ar, 0 AS customers FROM accounts_accountdaytotal
    WHERE organization_id = %s AND account_id = ANY(%s)
    UNION ALL
    SELECT currency, 0, amount FROM accounts_customerbalance WHERE organization_id = %s
) t GROUP BY currency HAVING sum(ar) <> sum(customers) ORDER BY currency
"""
_ENTRIES_SQL = """
SELECT id, seq, effective_date, memo, source_type, source_id, idempotency_key, reverses_id, prev_hash, hash,
       hash_version, actor_id, reason, to_char((posted_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
FROM accounts_journalentry WHERE organization_id = %s AND id > %s ORDER BY id LIMIT %s
"""
# The lines of the same chunk: up to the chunk's last entry id, without waiting to know it.
_LINES_SQL = """
SELECT entry_id, line_no, account_id, customer_id, currency, amount::text, (amount * 1000)::bigint, effective_date,
       base_amount::text, (base_amount * 1000)::bigint
FROM accounts_journalline
WHERE organization_id = %s AND entry_id > %s AND entry_id <= (
    SELECT max(id) FROM (SELECT id FROM accounts_journalentry WHERE organization_id = %s AND id > %s
                         ORDER BY id LIMIT %s) chunk)
ORDER BY entry_id, line_no
"""
_ORPHAN_LINES_SQL = "SELECT DISTINCT entry_id FROM accounts_journalline WHERE organization_id = %s AND entry_id > %s"
_ONE_ENTRY_SQL = """
SELECT organization_id, seq, effective_date, memo, source_type, source_id, idempotency_key, reverses_id, prev_hash,
       hash, hash_version, actor_id, reason, posted_at
FROM accounts_journalentry WHERE id = %s
"""
_ONE_ENTRY_LINES_SQL = """
SELECT line_no, account_id, customer_id, currency, amount, base_amount FROM accounts_journalline WHERE entry_id = %s
"""
# The id range the full check splits into chunks of about CHUNK entries.
_BOUNDS_SQL = """
SELECT min(id), max(id), count(*) FROM accounts_journalentry WHERE organization_id = %s
"""
# One chunk of the journal (entries with ids in (lo, hi] and their lines), checked by the server:
# each entry's hash recomputed (ledger_chain.chain_hash_sql), its lines' count, balance, receivable
# rule and dates, and the order within the chunk. Only what Python must see comes back: the chunk's
# first and last entries (the seams between chunks), entries with a problem (or with lines in more
# than one currency, whose balance per currency Python asks about), and lines of no entry here.
_CHUNK_SQL = """
WITH l AS (
    SELECT entry_id, string_agg({line}, ',' ORDER BY line_no) AS texts, count(*) AS n,
           string_agg({base}, ',' ORDER BY line_no) AS bases,
           (coalesce(sum(base_amount), 0) <> 0 OR bool_or(base_amount IS NULL)) AS base_unbalanced,
           sum(amount) <> 0 AS unbalanced, min(currency) <> max(currency) AS mixed,
           bool_or((customer_id IS NULL) = (account_id = ANY(%(ar)s))) AS bad_rule,
           min(effective_date) AS first_day, max(effective_date) AS last_day
    FROM accounts_journalline l
    WHERE organization_id = %(org)s AND entry_id > %(lo)s AND entry_id <= %(hi)s
    GROUP BY entry_id
), e AS (
    SELECT * FROM accounts_journalentry WHERE organization_id = %(org)s AND id > %(lo)s AND id <= %(hi)s
), c AS (
    SELECT e.id, e.seq, e.prev_hash, e.hash, lag(e.seq) OVER w AS prev_seq, lag(e.hash) OVER w AS prev_stored,
           coalesce({hash} = e.hash, false) AS hash_ok, l.n, l.unbalanced, l.mixed, l.bad_rule,
           (e.hash_version = 3 AND l.base_unbalanced) AS base_unbalanced,
           (l.first_day <> e.effective_date OR l.last_day <> e.effective_date) AS bad_date,
           lead(e.id) OVER w IS NULL AS last, count(e.id) OVER w AS entries, (sum(l.n) OVER w)::bigint AS lines,
           l.entry_id AS line_entry
    FROM e FULL JOIN l ON l.entry_id = e.id
    WINDOW w AS (ORDER BY e.id)
)
SELECT id, seq, prev_hash, hash, prev_seq, prev_stored, hash_ok, n, unbalanced, mixed, bad_rule, bad_date, last,
       entries, lines, line_entry, base_unbalanced
FROM c
WHERE id IS NULL OR prev_seq IS NULL OR last OR NOT hash_ok OR seq <> prev_seq + 1 OR prev_hash <> prev_stored
   OR n IS NULL OR unbalanced OR mixed OR bad_rule OR bad_date OR base_unbalanced
ORDER BY id
""".format(line=line_sql("l"), base=base_sql("l"), hash=chain_hash_sql("e", "l.texts", "l.bases"))  # noqa: S608
# Entries with lines in several currencies: those that do not balance in one of them.
_PER_CURRENCY_SQL = """
SELECT DISTINCT entry_id FROM (
    SELECT entry_id FROM accounts_journalline WHERE organization_id = %s AND entry_id = ANY(%s)
    GROUP BY entry_id, currency HAVING sum(amount) <> 0
) t
"""
# Each customer's lines against its maintained balance: only differences.
_CUSTOMER_SUMS_SQL = """
SELECT coalesce(s.customer_id, b.customer_id), coalesce(s.currency, b.currency), coalesce(b.amount, 0),
       coalesce(s.amount, 0)
FROM (
    SELECT customer_id, currency, sum(amount) AS amount FROM accounts_journalline
    WHERE organization_id = %s AND customer_id IS NOT NULL GROUP BY customer_id, currency
) s FULL JOIN (
    SELECT customer_id, currency, amount FROM accounts_customerbalance WHERE organization_id = %s
) b ON b.customer_id = s.customer_id AND b.currency = s.currency
WHERE coalesce(s.amount, 0) <> coalesce(b.amount, 0)
ORDER BY 1, 2
"""


@dataclass
class VerifyResult:
    organization: str
    entries: int = 0
    lines: int = 0
    seals: int = 0
    documents: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None
    # How far the check went: entries from_seq..to_seq (to_hash: the last one's hash) and the
    # seal chain up to to_seal_seq. A clean check records them as the ledger head's verified point.
    from_seq: int = 1
    to_seq: int | None = None
    to_hash: str = ""
    to_seal_seq: int = 0
    to_seal_hash: str = ""
    # Per (customer, currency), what a clean check vouches for at to_seq (record_verification keeps
    # them for the next incremental check): the maintained balance, and the AR lines outside
    # documents (filled by the sub-ledger check). Only the customers this check covered.
    balances: dict = field(default_factory=dict)
    outside_docs: dict = field(default_factory=dict)
    day_totals: dict = field(default_factory=dict)  # (account, currency, day) -> maintained total

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str, seq: int | None = None) -> None:
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq
        self.problems.append(message)


# Below this many entries the journal is one chunk: nothing to overlap the sums with, and a second
# connection would cost more than it saves.
SIDE_CONNECTION_FROM = CHUNK


def verify_organization(org) -> VerifyResult:
    result = VerifyResult(organization=org.slug)
    ar_ids = list(Account.objects.filter(organization=org, system_key="ar").values_list("pk", flat=True))
    fresh_transaction = not connection.in_atomic_block
    connection.ensure_connection()
    with transaction.atomic(), connection.wrap_database_errors:
        pg = connection.connection
        with pg.cursor() as c:
            if fresh_transaction:
                # One snapshot for the whole check: postings that land meanwhile are not half-seen.
                c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # The aggregates are cheap to run and not worth compiling: no JIT for this transaction.
            jit = c.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)").fetchone()[0]
            sums_aside = fresh_transaction and c.execute(
                "SELECT coalesce(max(last_seq), 0) FROM accounts_ledgerhead WHERE organization_id = %s",
                [org.pk]).fetchone()[0] >= SIDE_CONNECTION_FROM
        try:
            if not fresh_transaction:
                # Inside a caller's transaction: seal what it wrote (the deferred seal triggers)
                # before checking, as its commit would.
                with pg.cursor() as c:
                    c.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    c.execute("SET CONSTRAINTS ALL DEFERRED")
            with _side_connection(pg, org.pk) if sums_aside else nullcontext(pg) as side, \
                    side.pipeline() if side is not pg else nullcontext():
                _verify(pg, side, org.pk, ar_ids, result)
                # The seal chain and the documents in ranges over both connections too.
                verify_seals_and_subledger(pg, org.pk, result, side=None if side is pg else side)
        finally:
            with pg.cursor() as c:
                c.execute("SELECT set_config('jit', %s, true)", [jit])
    return result


@contextmanager
def _side_connection(pg, org_id):
    """A second connection in the snapshot of `pg`'s (REPEATABLE READ) transaction, acting for
    the same organization: what it sums is exactly what this transaction sees."""
    snapshot = pg.execute("SELECT pg_export_snapshot()").fetchone()[0]
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    with psycopg.connect(**params, autocommit=True) as side:
        side.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        side.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        side.execute("SELECT set_config('app.organization_id', %s, true), set_config('jit', 'off', true)",
                     [str(org_id)])
        try:
            yield side
        finally:
            side.execute("ROLLBACK")  # it only read


def _verify(pg, side, org_id, ar_ids, result):
    """`side`: the connection (in this snapshot, in pipeline mode) that sums the day totals and
    checks every other chunk; `pg` itself when there is none."""
    entry_problems = []  # (seq, message, is_order)
    walk = _Found()
    with pg.cursor() as c:
        first_id, last_id, count = c.execute(_BOUNDS_SQL, [org_id]).fetchone()
    ranges = _ranges(first_id, last_id, count)
    connections = [pg] if side is pg else [pg, side]
    with pg.pipeline():
        head, balances, customers, totals = pg.cursor(), pg.cursor(), pg.cursor(), pg.cursor()
        days, ar = side.cursor(), side.cursor()
        head.execute(_HEAD_SQL, [org_id, org_id])
        balances.execute(_CUSTOMER_BALANCES_SQL, [org_id])
        totals.execute(_DAY_TOTALS_SQL, [org_id])
        chunks = []
        for i, (lo, hi) in enumerate(ranges):
            chunk = connections[i % len(connections)].cursor()
            chunk.execute(_CHUNK_SQL, {"org": org_id, "ar": ar_ids, "lo": lo, "hi": hi})
            chunks.append(chunk)
        days.execute(_DAY_SUMS_SQL, [org_id, org_id])
        ar.execute(_AR_CONTROL_SQL, [org_id, ar_ids, org_id])
        customers.execute(_CUSTOMER_SUMS_SQL, [org_id, org_id])
        head_seq, head_hash, last_seq, last_hash = head.fetchone()
        result.to_seq, result.to_hash = last_seq or 0, last_hash or GENESIS_HASH
        stored_balances = {(c, cur): amount for c, cur, amount in balances.fetchall()}
        result.day_totals = {(a, cur, day): amount for a, cur, day, amount in totals.fetchall()}
        mixed = []
        prev_seq, prev_stored = 0, GENESIS_HASH
        for chunk in chunks:
            for (entry_id, seq, prev_hash, stored, lag_seq, lag_stored, hash_ok, n, unbalanced, several, bad_rule,
                 bad_date, last, entries, lines, line_entry, base_unbalanced) in chunk.fetchall():
                if entry_id is None:  # lines of no entry of this journal
                    walk.orphans.add(line_entry)
                    continue
                if lag_seq is None:  # the chunk's first entry: follows the previous chunk's last
                    lag_seq, lag_stored = prev_seq, prev_stored
                if seq != lag_seq + 1 or prev_hash != lag_stored:
                    if seq <= lag_seq:
                        walk.in_order = False
                    _order_problems(entry_problems, seq, lag_seq + 1, prev_hash, lag_stored)
                if not hash_ok:
                    walk.mismatched.append(entry_id)
                if n is None:
                    entry_problems.append((seq, f"entry #{seq}: has no lines", False))
                elif unbalanced:
                    entry_problems.append((seq, f"entry #{seq}: does not balance to zero per currency", False))
                elif several:
                    mixed.append((entry_id, seq))
                if bad_rule:
                    entry_problems.append((seq, f"entry #{seq}: a customer must be on receivable lines and only "
                                                f"there", False))
                if bad_date:
                    entry_problems.append((seq, f"entry #{seq}: a line's date differs from the entry's", False))
                if base_unbalanced:  # version 3: the base amounts must balance too (issue 17)
                    entry_problems.append((seq, f"entry #{seq}: does not balance in the base currency", False))
                if last:  # running totals: on the last entry, the chunk's
                    prev_seq, prev_stored = seq, stored
                    result.entries += entries
                    result.lines += lines or 0
        day_rows, ar_rows, customer_rows = days.fetchall(), ar.fetchall(), customers.fetchall()
    with pg.cursor() as c:
        if mixed:
            seqs = dict(mixed)
            for (entry_id,) in c.execute(_PER_CURRENCY_SQL, [org_id, list(seqs)]).fetchall():
                entry_problems.append((seqs[entry_id], f"entry #{seqs[entry_id]}: does not balance to zero per "
                                                       f"currency", False))
        walk.orphans.update(row[0] for row in c.execute(_ORPHAN_LINES_SQL, [org_id, last_id or 0]).fetchall())
        if not walk.in_order:
            # Ids are not in sequence order: what the chunks saw of the order means nothing.
            entry_problems[:] = [p for p in entry_problems if not p[2]]
            c.execute(_ORDER_SQL, [org_id, GENESIS_HASH])
            for seq, prev_seq, prev_hash, prev_stored_hash in c.fetchall():
                _order_problems(entry_problems, seq, (prev_seq or 0) + 1, prev_hash,
                                prev_stored_hash if prev_stored_hash is not None else GENESIS_HASH)

    report_chain_problems(pg, result, walk, entry_problems, (head_seq, head_hash), (last_seq, last_hash))
    result.balances = stored_balances
    for customer_id, currency, stored, from_lines in customer_rows:
        result.fail(f"customer {customer_id}: maintained balance {stored} {currency} differs from its journal lines "
                    f"{from_lines}")
    for account_id, _currency, day in day_rows:
        result.fail(f"account {account_id} on {day}: day total differs from its journal lines")
    for currency, ar_control, customers_total in ar_rows:
        result.fail(f"AR control {ar_control} {currency} differs from the sum of customer balances {customers_total}")


class _Found:
    """What the full check's chunks found for report_chain_problems (the shape _Walk has)."""

    def __init__(self):
        self.mismatched, self.orphans, self.in_order = [], set(), True


def _ranges(first_id, last_id, count) -> list[tuple[int, int]]:
    """(lo, hi] id ranges of about CHUNK entries each, from id 0 to the last entry's."""
    if not count:
        return [(0, 0)]
    parts = -(-count // CHUNK)
    width = -(-(last_id - first_id + 1) // parts)
    bounds = [0] + [first_id - 1 + width * k for k in range(1, parts)] + [last_id]
    return list(zip(bounds, bounds[1:], strict=False))


def _order_problems(problems, seq, expected_seq, prev_hash, expected_prev_hash):
    if seq != expected_seq:
        problems.append((seq, f"entry #{seq}: sequence gap, expected #{expected_seq}", True))
    if prev_hash != expected_prev_hash:
        problems.append((seq, f"entry #{seq}: does not link to the previous entry's hash", True))


class _Stream:
    """Entries and their lines in id order, one chunk requested ahead of the one being hashed."""

    def __init__(self, pg, org_id):
        self.pg, self.org_id = pg, org_id
        self.pending = None
        self.after = 0  # the id the first chunk starts after

    def request(self, after):
        entries, lines = self.pg.cursor(), self.pg.cursor()
        entries.execute(_ENTRIES_SQL, [self.org_id, after, CHUNK])
        lines.execute(_LINES_SQL, [self.org_id, after, self.org_id, after, CHUNK])
        self.pending = (entries, lines)

    def chunks(self):
        while self.pending is not None:
            entries_cursor, lines_cursor = self.pending
            entries = entries_cursor.fetchall()
            if not entries:
                lines_cursor.fetchall()
                self.pending = None
                return
            upto = entries[-1][0]
            self.request(upto)  # the server works on the next chunk while we hash this one
            yield entries, lines_cursor.fetchall(), upto


class _Walk:
    """One pass over entries and lines in id order: hashes, order, balance, rules, sums."""

    def __init__(self, org_id, ar_ids, result, problems, start=(0, GENESIS_HASH)):
        """`start`: the (seq, hash) the first entry walked follows (an incremental check's start)."""
        self.org_id, self.ar_ids, self.result, self.problems = org_id, ar_ids, result, problems
        self.start = start
        self.customers = defaultdict(int)  # (customer, currency) -> sum of its lines, in thousandths
        self.mismatched, self.orphans = [], set()
        self.in_order = True

    def run(self, stream):
        sha256, esc, org_id, ar_ids = hashlib.sha256, _json_str, self.org_id, self.ar_ids
        problems, customers, orphans = self.problems, self.customers, self.orphans
        escaped = {}  # currency -> its JSON string: a handful of values, escaped once
        iso = {}  # date -> its ISO text: a few hundred days
        prev_seq, prev_stored = self.start
        after = stream.after
        for entries, lines, upto in stream.chunks():
            self.result.entries += len(entries)
            self.result.lines += len(lines)
            n, i = len(lines), 0
            for (entry_id, seq, eff, memo, source_type, source_id, key, reverses_id, prev_hash, stored, version,
                 actor_id, reason, posted) in entries:
                if seq != prev_seq + 1 or prev_hash != prev_stored:
                    if seq <= prev_seq:
                        self.in_order = False
                    _order_problems(problems, seq, prev_seq + 1, prev_hash, prev_stored)
                prev_seq, prev_stored = seq, stored
                while i < n and lines[i][0] < entry_id:
                    orphans.add(lines[i][0])
                    i += 1
                start, texts, bases = i, [], []
                total, currency, mixed, bad_rule, bad_date, base_total = 0, None, False, False, False, 0
                while i < n:
                    line_entry, no, account, customer, cur, text, milli, line_date, base_text, base_milli = lines[i]
                    if line_entry != entry_id:
                        break
                    i += 1
                    if version == 3:
                        bases.append(f'"{base_text}"')
                        if base_milli is None:
                            base_total = None
                        elif base_total is not None:
                            base_total += base_milli
                    cur_json = escaped.get(cur)
                    if cur_json is None:
                        cur_json = escaped[cur] = esc(cur)
                    # ledger_chain.line_text for these column types (smallint, bigint, bigint or
                    # NULL, varchar, numeric(18, 3): its Decimal already has the canonical three places).
                    if customer is None:
                        texts.append(f'[{no},{account},null,{cur_json},"{text}"]')
                        if account in ar_ids:
                            bad_rule = True
                    else:
                        texts.append(f'[{no},{account},{customer},{cur_json},"{text}"]')
                        customers[(customer, cur)] += milli
                        if account not in ar_ids:
                            bad_rule = True
                    total += milli
                    if cur != currency:
                        if currency is not None:
                            mixed = True
                        currency = cur
                    if line_date != eff:
                        bad_date = True
                # ledger_chain.head_text for these column types (bigint, date, varchar, bigint or NULL).
                day = iso.get(eff)
                if day is None:
                    day = iso[eff] = eff.isoformat()
                text = (f'{prev_hash}[{seq},{org_id},"{day}",{esc(memo)},{esc(source_type)},'
                        f'{"null" if source_id is None else source_id},{esc(key)},'
                        f'{"null" if reverses_id is None else reverses_id},[{",".join(texts)}]')
                if version == 1:
                    text += "]"
                elif version == 3:  # ledger_chain version 3: who, why, the base amounts and when
                    text += (f',{"null" if actor_id is None else actor_id},{esc(reason)},[{",".join(bases)}],'
                             f'"{posted}"]')
                    if base_total != 0:  # None: a line without its base amount
                        problems.append((seq, f"entry #{seq}: does not balance in the base currency", False))
                else:  # ledger_chain version 2: who, why and when
                    text += f',{"null" if actor_id is None else actor_id},{esc(reason)},"{posted}"]'

                if sha256(text.encode()).hexdigest() != stored:
                    self.mismatched.append(entry_id)
                if not texts:
                    problems.append((seq, f"entry #{seq}: has no lines", False))
                elif total != 0 or (mixed and _imbalance_per_currency(lines[start:i])):
                    problems.append((seq, f"entry #{seq}: does not balance to zero per currency", False))
                if bad_rule:
                    problems.append((seq, f"entry #{seq}: a customer must be on receivable lines and only there",
                                     False))
                if bad_date:
                    problems.append((seq, f"entry #{seq}: a line's date differs from the entry's", False))
            orphans.update(line[0] for line in lines[i:])
            after = upto
        with stream.pg.cursor() as c:
            orphans.update(row[0] for row in c.execute(_ORPHAN_LINES_SQL, [org_id, after]).fetchall())


def _imbalance_per_currency(lines) -> bool:
    per = defaultdict(int)
    for line in lines:
        per[line[4]] += line[6]
    return any(per.values())


def report_chain_problems(pg, result, walk, entry_problems, head, last) -> None:
    """After a walk of the chain (full or from the verified point): altered entries, order
    problems, orphan lines and a ledger head out of step, each named in `result`."""
    head_seq, head_hash = head
    last_seq, last_hash = last
    for entry_id in walk.mismatched:
        seq = _recheck_hash(pg, entry_id)
        if seq is not None:
            entry_problems.append((seq, f"entry #{seq}: hash does not match its contents (altered after posting)",
                                   False))
    for seq, message, _order in sorted(entry_problems, key=lambda p: p[0]):
        result.fail(message, seq)
    for entry_id in sorted(walk.orphans):
        result.fail(f"lines of entry id {entry_id}, which is not in this organization's journal")
    if head_seq is None:
        result.fail("the organization has no ledger head")
    elif head_seq != (last_seq or 0) or head_hash != (last_hash or GENESIS_HASH):
        result.fail(f"ledger head says #{head_seq}, the journal ends at #{last_seq or 0}")


def _recheck_hash(pg, entry_id) -> int | None:
    """The general path for an entry the fast path flagged: its seq if the hash is really wrong."""
    with pg.cursor() as c:
        (org_id, seq, eff, memo, source_type, source_id, key, reverses_id, prev_hash, stored, version, actor_id,
         reason, posted_at) = c.execute(_ONE_ENTRY_SQL, [entry_id]).fetchone()
        lines = c.execute(_ONE_ENTRY_LINES_SQL, [entry_id]).fetchall()
    header = {"seq": seq, "organization_id": org_id, "effective_date": eff.isoformat(), "memo": memo,
              "source_type": source_type, "source_id": source_id, "idempotency_key": key,
              "reverses_id": reverses_id, "version": version, "actor_id": actor_id, "reason": reason,
              "posted_at": posted_at}
    return None if chain_hash(prev_hash, header, lines) == stored else seq
