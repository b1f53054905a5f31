"""The bulk door to the journal: opening balances and migrations from another system.

    result = bulk_post(org, (BulkEntry(lines, effective_date=d, idempotency_key=k, memo=m) for ...))

Same rules as `ledger.post` (each entry goes through the same validation, gets the next gapless
sequence number and the next link of the same hash chain, and moves the same maintained
balances), but written fast: in one transaction holding the organization's ledger head lock,
entries and lines are streamed with COPY and the maintained balances are upserted once,
aggregated, at the end. `verify_ledger` cannot tell the two doors apart.

PostgreSQL refuses `COPY ... FROM` into a table under row-level security for a role that is
subject to it (our application role is), so COPY fills session-temporary staging tables and
one `INSERT ... SELECT` per chunk moves the rows into the journal; RLS's WITH CHECK still
applies to that insert.

The database work runs in a helper thread on the same connection (and transaction), one chunk
behind: while the server stores chunk n and checks its foreign keys (set IMMEDIATE for the
duration, so the checks happen then rather than all at commit), Python validates and hashes
chunk n + 1. The ledger's tables carry eight indexes and four foreign keys per line, so the
server's share dominates; the overlap hides Python's. After the call every deferrable
constraint of the transaction is DEFERRED again (Django's foreign keys start that way).

Every line gets its base-currency amount as in `post` (`ledger.base_amounts`: the entry's `rates`,
else the rate of its day, looked up once per currency and day), and the entries are hash version 3
like `post`'s: their posting time is the transaction's now(), read once before the first hash.

An entry whose idempotency key is already in the journal is skipped (it posts nothing, as
`post` would); a key used twice within one call is refused. Reversals go through
`ledger.reverse`, not through here. Any refused entry refuses the whole call: nothing is written.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice

from django.db import connection, transaction

from accounts import fx
from accounts.ledger import LedgerError, Line, _source_ref, _validate, base_amounts
from accounts.ledger_chain import chain_hash

CHUNK = 5000


@dataclass(frozen=True)
class BulkEntry:
    lines: Sequence[Line]
    effective_date: date
    idempotency_key: str
    memo: str = ""
    source: object = None  # a model instance or (source_type, source_id)
    source_label: str = ""
    rates: dict | None = None  # {currency: rate} the entry is posted at; else the rate of its day


@dataclass
class BulkResult:
    posted: int = 0
    lines: int = 0
    skipped: int = 0  # idempotency keys already in the journal: nothing posted for them
    first_seq: int | None = None
    last_seq: int | None = None
    entry_ids: dict[str, int] = field(default_factory=dict)  # only with collect_ids=True


_STAGING = """
DROP TABLE IF EXISTS pg_temp.ledger_bulk_entry, pg_temp.ledger_bulk_line, pg_temp.ledger_bulk_customer,
    pg_temp.ledger_bulk_day;
CREATE TEMP TABLE ledger_bulk_entry (
    id bigint, seq bigint, effective_date date, memo text, source_type text, source_id bigint,
    source_label text, idempotency_key text, prev_hash text, hash text
) ON COMMIT DROP;
CREATE TEMP TABLE ledger_bulk_line (
    entry_id bigint, line_no smallint, account_id bigint, customer_id bigint, currency text,
    amount numeric(18, 3), base_amount numeric(18, 3), effective_date date
) ON COMMIT DROP;
CREATE TEMP TABLE ledger_bulk_customer (customer_id bigint, currency text, amount numeric) ON COMMIT DROP;
CREATE TEMP TABLE ledger_bulk_day (account_id bigint, currency text, day date, amount numeric) ON COMMIT DROP;
"""

_MOVE_ENTRIES = """
INSERT INTO accounts_journalentry (id, organization_id, seq, effective_date, posted_at, memo, source_type,
    source_id, source_label, actor_id, idempotency_key, reverses_id, reason, prev_hash, hash, hash_version)
SELECT id, %s, seq, effective_date, now(), memo, source_type, source_id, source_label, %s, idempotency_key,
    NULL, '', prev_hash, hash, 3
FROM ledger_bulk_entry ORDER BY seq
"""
_MOVE_LINES = """
INSERT INTO accounts_journalline (organization_id, entry_id, line_no, account_id, customer_id, currency, amount,
    base_amount, effective_date)
SELECT %s, entry_id, line_no, account_id, customer_id, currency, amount, base_amount, effective_date
FROM ledger_bulk_line ORDER BY entry_id, line_no
"""
_UPSERT_CUSTOMERS = """
INSERT INTO accounts_customerbalance (organization_id, customer_id, currency, amount)
SELECT %s, customer_id, currency, amount FROM ledger_bulk_customer
ON CONFLICT (customer_id, currency)
DO UPDATE SET amount = accounts_customerbalance.amount + EXCLUDED.amount
"""
_UPSERT_DAYS = """
INSERT INTO accounts_accountdaytotal (organization_id, account_id, currency, day, amount)
SELECT %s, account_id, currency, day, amount FROM ledger_bulk_day
ON CONFLICT (account_id, currency, day)
DO UPDATE SET amount = accounts_accountdaytotal.amount + EXCLUDED.amount
"""


def bulk_post(org, entries: Iterable[BulkEntry], *, actor=None, chunk_size: int = CHUNK,
              collect_ids: bool = False) -> BulkResult:
    """Post many entries in one transaction. Returns counts; raises LedgerError (writing
    nothing) if any entry is refused. Run inside the organization's tenant context."""
    result = BulkResult()
    actor_id = getattr(actor, "pk", actor)
    per_customer, per_day = defaultdict(Decimal), defaultdict(Decimal)
    seen_keys = set()
    chunks = _chunks(entries, chunk_size)
    # A savepoint when the caller has a transaction: a refused entry rolls back only this call.
    with transaction.atomic(), connection.wrap_database_errors:
        connection.validate_no_broken_transaction()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT last_seq, last_hash, books_start, now() FROM accounts_ledgerhead WHERE organization_id = %s "
                "FOR UPDATE",
                [org.pk],
            )
            row = cursor.fetchone()
        if row is None:
            raise LedgerError("This organization has no ledger.")
        # now() is the transaction's start, the posted_at every entry of this call is stored with.
        seq, last_hash, books_start, posted_at = row
        # Every rate of the organization, read now: the loop below may not query (the writer thread
        # owns the connection meanwhile).
        day_rates = fx.all_rates(org)

        writer = _Writer(connection.connection)
        try:
            writer.submit(_start)
            chunk = next(chunks, None)
            ahead = writer.submit(_look_up, org.pk, chunk) if chunk else None
            index = 0
            while chunk:
                # Ask for the next chunk's used keys and ids now: that query runs before this chunk's
                # rows are stored, and the answer is ready when Python gets there.
                following = next(chunks, None)
                following_ahead = writer.submit(_look_up, org.pk, following) if following else None
                prepared = []
                for entry in chunk:
                    index += 1
                    key = entry.idempotency_key
                    try:
                        lines = _validate(org, entry.lines, entry.effective_date, key, entry.memo, books_start)
                        bases = base_amounts(org, entry.lines, lines, entry.effective_date,
                                             _rates(org, entry, lines, day_rates))
                    except LedgerError as e:
                        raise LedgerError(f"Entry {index} ({key!r}): {e.message}") from e
                    if key in seen_keys:
                        raise LedgerError(f"Entry {index}: the idempotency key {key!r} is used twice in this batch.")
                    seen_keys.add(key)
                    prepared.append((entry, [(*line, base) for line, base in zip(lines, bases, strict=True)]))
                used, ids = ahead.result()
                if used:
                    result.skipped += len(used)
                    if collect_ids:
                        result.entry_ids.update(used)
                    prepared = [(entry, lines) for entry, lines in prepared if entry.idempotency_key not in used]
                if prepared and result.first_seq is None:
                    result.first_seq = seq + 1
                entry_rows, line_rows = [], []
                for entry_id, (entry, lines) in zip(ids, prepared, strict=True):
                    seq += 1
                    source_type, source_id = _source_ref(entry.source)
                    head = {
                        "seq": seq, "organization_id": org.pk, "effective_date": entry.effective_date.isoformat(),
                        "memo": entry.memo, "source_type": source_type, "source_id": source_id,
                        "idempotency_key": entry.idempotency_key, "reverses_id": None,
                        "version": 3, "actor_id": actor_id, "reason": "", "posted_at": posted_at,
                    }
                    digest = chain_hash(last_hash, head, lines)
                    entry_rows.append((entry_id, seq, entry.effective_date, entry.memo, source_type, source_id,
                                       entry.source_label[:100], entry.idempotency_key, last_hash, digest))
                    for no, account_id, customer_id, currency, amount, base in lines:
                        line_rows.append((entry_id, no, account_id, customer_id, currency, amount, base,
                                          entry.effective_date))
                        per_day[(account_id, currency, entry.effective_date)] += amount
                        if customer_id is not None:
                            per_customer[(customer_id, currency)] += amount
                    last_hash = digest
                    if collect_ids:
                        result.entry_ids[entry.idempotency_key] = entry_id
                if entry_rows:
                    writer.submit(_store, org.pk, actor_id, entry_rows, line_rows)
                    result.posted += len(entry_rows)
                    result.lines += len(line_rows)
                    result.last_seq = seq
                chunk, ahead = following, following_ahead
            if result.posted:
                writer.submit(_finish, org.pk, seq, last_hash,
                              [(c, cur, a) for (c, cur), a in per_customer.items()],
                              [(acc, cur, d, a) for (acc, cur, d), a in per_day.items()])
            writer.submit(_end)
            writer.wait()
        finally:
            writer.close()  # waits for what was submitted: the connection is ours again
    return result


def _rates(org, entry, lines, rate_of) -> dict:
    """The entry's rates: its own, else the rate of its day per foreign currency (fx.all_rates)."""
    rates = dict(entry.rates or {})
    for _no, _account, _customer, currency, _amount in lines:
        if currency != org.base_currency and rates.get(currency) is None:
            try:
                rates[currency] = rate_of(currency, entry.effective_date)
            except fx.MissingRate as e:
                raise LedgerError(e.message) from e
    return rates


def _chunks(entries, size):
    entries = iter(entries)
    while True:
        chunk = list(islice(entries, size))
        if not chunk:
            return
        yield chunk


class _Writer:
    """Runs database work on the transaction's connection in one helper thread, in the order it
    was submitted, so that Python validates and hashes the next chunk while the server stores
    this one (psycopg releases the GIL while it waits for the server). The calling thread does
    no database work until close(). A job's error is raised by wait() or by its result()."""

    def __init__(self, pg):
        self.pg = pg
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-bulk")
        self.futures = []

    def submit(self, job, *args):
        future = self.pool.submit(self._run, job, *args)
        self.futures.append(future)
        return future

    def _run(self, job, *args):
        with self.pg.cursor() as cursor:
            return job(cursor, *args)

    def wait(self):
        for future in self.futures:
            future.result()

    def close(self):
        self.pool.shutdown(wait=True)


def _start(cursor):
    cursor.execute(_STAGING)
    # Foreign keys are checked as each chunk is stored (in the helper thread, while Python works
    # on the next chunk) rather than all at commit; _end puts them back to deferred.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _look_up(cursor, org_id, chunk):
    """Keys of the chunk already in the journal ({key: id}) and one entry id per entry."""
    keys = [entry.idempotency_key for entry in chunk]
    cursor.execute(
        "SELECT idempotency_key, id FROM accounts_journalentry WHERE organization_id = %s "
        "AND idempotency_key = ANY(%s)",
        [org_id, keys],
    )
    used = dict(cursor.fetchall())
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('accounts_journalentry', 'id')) FROM generate_series(1, %s)",
        [len(chunk) - len(used)],
    )
    return used, [r[0] for r in cursor.fetchall()]


def _store(cursor, org_id, actor_id, entry_rows, line_rows):
    _copy(cursor, "ledger_bulk_entry", entry_rows)
    _copy(cursor, "ledger_bulk_line", line_rows)
    cursor.execute(_MOVE_ENTRIES, [org_id, actor_id])
    cursor.execute(_MOVE_LINES, [org_id])
    cursor.execute("TRUNCATE ledger_bulk_entry, ledger_bulk_line")


def _finish(cursor, org_id, seq, last_hash, customer_rows, day_rows):
    _copy(cursor, "ledger_bulk_customer", customer_rows)
    _copy(cursor, "ledger_bulk_day", day_rows)
    cursor.execute(_UPSERT_CUSTOMERS, [org_id])
    cursor.execute(_UPSERT_DAYS, [org_id])
    cursor.execute("UPDATE accounts_ledgerhead SET last_seq = %s, last_hash = %s WHERE organization_id = %s",
                   [seq, last_hash, org_id])


def _end(cursor):
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _copy(raw_cursor, table, rows) -> None:
    if not rows:
        return
    with raw_cursor.copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
