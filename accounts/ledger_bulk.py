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

An entry whose idempotency key is already in the journal is skipped (it posts nothing, as
`post` would); a key used twice within one call is refused. Reversals go through
`ledger.reverse`, not through here. Any refused entry refuses the whole call: nothing is written.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice

from django.db import connection, transaction

from accounts.ledger import LedgerError, Line, _source_ref, _validate
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
    amount numeric(18, 3), effective_date date
) ON COMMIT DROP;
CREATE TEMP TABLE ledger_bulk_customer (customer_id bigint, currency text, amount numeric) ON COMMIT DROP;
CREATE TEMP TABLE ledger_bulk_day (account_id bigint, currency text, day date, amount numeric) ON COMMIT DROP;
"""

_MOVE_ENTRIES = """
INSERT INTO accounts_journalentry (id, organization_id, seq, effective_date, posted_at, memo, source_type,
    source_id, source_label, actor_id, idempotency_key, reverses_id, reason, prev_hash, hash)
SELECT id, %s, seq, effective_date, now(), memo, source_type, source_id, source_label, %s, idempotency_key,
    NULL, '', prev_hash, hash
FROM ledger_bulk_entry ORDER BY seq
"""
_MOVE_LINES = """
INSERT INTO accounts_journalline (organization_id, entry_id, line_no, account_id, customer_id, currency, amount,
    effective_date)
SELECT %s, entry_id, line_no, account_id, customer_id, currency, amount, effective_date
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
    entries = iter(entries)
    # A savepoint when the caller has a transaction: a refused entry rolls back only this call.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_seq, last_hash FROM accounts_ledgerhead WHERE organization_id = %s FOR UPDATE",
            [org.pk],
        )
        row = cursor.fetchone()
        if row is None:
            raise LedgerError("This organization has no ledger.")
        seq, last_hash = row
        raw = cursor.cursor  # the psycopg cursor, for COPY
        raw.execute(_STAGING)
        index = 0
        while True:
            chunk = list(islice(entries, chunk_size))
            if not chunk:
                break
            prepared = []
            for entry in chunk:
                index += 1
                key = entry.idempotency_key
                try:
                    lines = _validate(org, entry.lines, entry.effective_date, key, entry.memo)
                except LedgerError as e:
                    raise LedgerError(f"Entry {index} ({key!r}): {e.message}") from e
                if key in seen_keys:
                    raise LedgerError(f"Entry {index}: the idempotency key {key!r} is used twice in this batch.")
                seen_keys.add(key)
                prepared.append((entry, lines))
            used = _keys_in_journal(cursor, org.pk, [entry.idempotency_key for entry, _ in prepared])
            if used:
                result.skipped += len(used)
                if collect_ids:
                    result.entry_ids.update(used)
                prepared = [(entry, lines) for entry, lines in prepared if entry.idempotency_key not in used]
            if not prepared:
                continue
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('accounts_journalentry', 'id')) FROM generate_series(1, %s)",
                [len(prepared)],
            )
            ids = [r[0] for r in cursor.fetchall()]
            if result.first_seq is None:
                result.first_seq = seq + 1
            entry_rows, line_rows = [], []
            for entry_id, (entry, lines) in zip(ids, prepared, strict=True):
                seq += 1
                source_type, source_id = _source_ref(entry.source)
                day = entry.effective_date.isoformat()
                head = {
                    "seq": seq, "organization_id": org.pk, "effective_date": day, "memo": entry.memo,
                    "source_type": source_type, "source_id": source_id,
                    "idempotency_key": entry.idempotency_key, "reverses_id": None,
                }
                digest = chain_hash(last_hash, head, lines)
                entry_rows.append((entry_id, seq, entry.effective_date, entry.memo, source_type, source_id,
                                   entry.source_label[:100], entry.idempotency_key, last_hash, digest))
                for no, account_id, customer_id, currency, amount in lines:
                    line_rows.append((entry_id, no, account_id, customer_id, currency, amount, entry.effective_date))
                    per_day[(account_id, currency, entry.effective_date)] += amount
                    if customer_id is not None:
                        per_customer[(customer_id, currency)] += amount
                last_hash = digest
                if collect_ids:
                    result.entry_ids[entry.idempotency_key] = entry_id
            _copy(raw, "ledger_bulk_entry", entry_rows)
            _copy(raw, "ledger_bulk_line", line_rows)
            raw.execute(_MOVE_ENTRIES, [org.pk, actor_id])
            raw.execute(_MOVE_LINES, [org.pk])
            raw.execute("TRUNCATE ledger_bulk_entry, ledger_bulk_line")
            result.posted += len(entry_rows)
            result.lines += len(line_rows)
            result.last_seq = seq
        if result.posted:
            _copy(raw, "ledger_bulk_customer", [(c, cur, a) for (c, cur), a in per_customer.items()])
            _copy(raw, "ledger_bulk_day", [(acc, cur, d, a) for (acc, cur, d), a in per_day.items()])
            raw.execute(_UPSERT_CUSTOMERS, [org.pk])
            raw.execute(_UPSERT_DAYS, [org.pk])
            raw.execute("UPDATE accounts_ledgerhead SET last_seq = %s, last_hash = %s WHERE organization_id = %s",
                        [seq, last_hash, org.pk])
    return result


def _keys_in_journal(cursor, org_id, keys) -> dict[str, int]:
    cursor.execute(
        "SELECT idempotency_key, id FROM accounts_journalentry WHERE organization_id = %s "
        "AND idempotency_key = ANY(%s)",
        [org_id, keys],
    )
    return dict(cursor.fetchall())


def _copy(raw_cursor, table, rows) -> None:
    if not rows:
        return
    with raw_cursor.copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
