"""The part of verify_ledger beyond the journal: the seal chain and the sub-ledger.

Run by accounts.ledger_verify.verify_organization in the same snapshot as the journal check:

- the seal chain (accounts.seals): sequence 1, 2, 3 ... without gaps, each record links to the
  previous one's hash and its own hash recomputes, the ledger head's seal_seq/seal_hash points
  at the last record;
- every sealed row, as it is now: it still exists, its content re-derives to the sealed hash,
  it is still tied to the same journal entry, and that entry's hash is the one sealed; every row
  that must be sealed is (a row inserted with the triggers off is not);
- the sub-ledger checks the apps register (payments.subledger): each invoice's amounts against
  its allocations, credit notes and write-offs, each customer's open items against its AR
  balance. Each problem names the document and its customer.

How it is fast (issue 13: the full check at 300,000 documents, the incremental one in
milliseconds). The server does the per-row work and sends back only what is wrong, as the
journal's chunks do (accounts.ledger_verify):

- the chain is checked in seal-number ranges of about SEAL_CHUNK records, one query each: every
  record's hash recomputed by the server with the text `ledger_seal()` hashes, its link to the
  previous record (a window), and only the range's first and last records and the broken ones
  come back (Python joins the ranges at those seams and re-hashes a flagged record itself before
  naming it);
- the documents are checked in the same ranges by ONE query over every kind (a UNION ALL of one
  branch per kind, each joining its table), which returns only the sealed rows that no longer
  match; the never-sealed-row scan is one UNION ALL query too. Before this, each kind cost two
  queries, each planned afresh: with 16 kinds that fixed cost was most of the incremental check;
- in the full check the ranges alternate between this connection and the journal check's second
  connection (same snapshot, another core); the sub-ledger's sums run on the second one.

The incremental check (since > 0) reads the chain and the documents after the verified seal
only, and looks for never-sealed rows only among each kind's rows newer than the newest one
sealed up to the verified seal (an id range on the primary key): a row written past the triggers
with an older id (an old draft issued with the triggers off) waits for the nightly full check.
"""

import hashlib

from accounts.seals import GENESIS, SealKind, chain_text, load_kinds

# Callables (cursor, org_id, result, names, since_entry=None, since_seal=0) registered by the apps that own
# the sub-ledger; in an incremental check they get the entry id and seal number of the verified point.
SUBLEDGER_CHECKS = []

SEAL_CHUNK = 50_000
_NO_END = 2**62  # an open range's upper bound

_HEAD_SQL = "SELECT seal_seq, seal_hash FROM accounts_ledgerhead WHERE organization_id = %s"
_AT_SQL = "SELECT hash FROM accounts_sealrecord WHERE organization_id = %s AND seq = %s"
# One range of the chain, checked by the server: the same text as ledger_seal() hashes
# (accounts.seals.chain_text), the link to the previous record, the count. Back come the range's
# first and last records (the seams) and those with a problem.
_CHAIN_SQL = """
WITH c AS (
    SELECT seq, kind, object_id, label, entry_hash, content_hash, prev_hash, hash,
           encode(sha256(convert_to(prev_hash || '|' || seq || '|' || kind || '|' || object_id || '|'
                                    || coalesce(entry_hash, '-') || '|' || content_hash || '|' || label, 'UTF8')),
                  'hex') = hash AS hash_ok,
           lag(seq) OVER w AS lag_seq, lag(hash) OVER w AS lag_hash, lead(seq) OVER w IS NULL AS last,
           count(*) OVER w AS n, count(*) FILTER (WHERE kind = ANY(%(kinds)s)) OVER w AS documents
    FROM accounts_sealrecord WHERE organization_id = %(org)s AND seq > %(lo)s AND seq <= %(hi)s
    WINDOW w AS (ORDER BY seq)
)
SELECT seq, kind, object_id, label, entry_hash, content_hash, prev_hash, hash, hash_ok, lag_seq, lag_hash, last, n,
       documents
FROM c
WHERE lag_seq IS NULL OR last OR NOT hash_ok OR seq <> lag_seq + 1 OR prev_hash <> lag_hash
ORDER BY seq
"""


def _sealed_branch(kind: SealKind, grouped: bool = True) -> str:
    """One kind's sealed rows in a range (lo, hi] of the chain that no longer match their seal.

    `%(<kind>_lo)s`..`%(<kind>_hi)s` and `%(<kind>_lo_entry)s`..`%(<kind>_hi_entry)s`: the least
    and greatest object id and entry id the range's records of this kind name (_KIND_BOUNDS_SQL).
    They only narrow what is read (every row the records name lies within them): the kind's table
    and the journal through an id range on their primary key, not whole for each range. `grouped`:
    a kind's children (an invoice's lines) are aggregated in one GROUP BY over the id range instead
    of by a subquery per document; the same aggregate, so the same text is hashed."""
    k = kind.kind
    lo, hi, lo_entry, hi_entry = (f"%({k}_{b})s" for b in ("lo", "hi", "lo_entry", "hi_entry"))
    children, content = "", kind.hash_sql()
    if grouped and kind.children is not None:
        c = kind.children
        children = f"""
        LEFT JOIN (SELECT l.{c.fk} AS id, {c.agg} AS agg FROM {c.table} l
                   WHERE l.{c.fk} >= {lo} AND l.{c.fk} <= {hi} GROUP BY l.{c.fk}) ch ON ch.id = d.id"""
        content = kind.hash_sql(children="ch.agg")
    return f"""
    SELECT * FROM (
        SELECT s.seq, s.kind, s.label, s.content_hash AS sealed_hash, s.entry_id, s.entry_hash,
               d.id IS NOT NULL AS present, CASE WHEN d.id IS NOT NULL THEN {content} END AS content_now,
               CASE WHEN d.id IS NOT NULL THEN {kind.entry} END AS entry_now, je.hash AS je_hash, je.seq AS je_seq,
               CASE WHEN d.id IS NOT NULL THEN {kind.customer} END AS customer_id
        FROM accounts_sealrecord s
        LEFT JOIN (SELECT * FROM {kind.table} WHERE id >= {lo} AND id <= {hi}) d ON d.id = s.object_id{children}
        LEFT JOIN (SELECT id, hash, seq FROM accounts_journalentry WHERE id >= {lo_entry} AND id <= {hi_entry}) je
            ON je.id = s.entry_id
        WHERE s.organization_id = %(org)s AND s.kind = '{k}' AND s.seq > %(lo)s AND s.seq <= %(hi)s
    ) x
    WHERE NOT present OR content_now IS DISTINCT FROM sealed_hash OR entry_now IS DISTINCT FROM entry_id
       OR (entry_id IS NOT NULL AND je_hash IS DISTINCT FROM entry_hash)
    """


def sealed_sql(kinds, grouped: bool = True) -> str:
    """Every kind's broken seals in a range (lo, hi] of the chain: one query."""
    return "\nUNION ALL\n".join(_sealed_branch(kind, grouped) for kind in kinds.values()) + "\nORDER BY 1"


# Per range of the chain (its number from `lo`, ranges of `width` records) and kind: the first and
# last record, and the bounds of the object and entry ids they name (the parameters of sealed_sql).
_KIND_BOUNDS_SQL = """
SELECT (seq - %(lo)s - 1) / %(width)s AS part, kind, min(seq), max(seq), min(object_id), max(object_id),
       coalesce(min(entry_id), 0), coalesce(max(entry_id), 0)
FROM accounts_sealrecord WHERE organization_id = %(org)s AND seq > %(lo)s
GROUP BY 1, 2 ORDER BY 1, 2
"""


def _unsealed_branch(kind: SealKind) -> str:
    return f"""
    SELECT '{kind.kind}', d.id, {kind.label}, {kind.customer} FROM {kind.table} d
    WHERE d.organization_id = %(org)s AND d.id > %(after_{kind.kind})s AND ({kind.sealed_when}) AND NOT EXISTS (
        SELECT 1 FROM accounts_sealrecord s
        WHERE s.organization_id = d.organization_id AND s.kind = '{kind.kind}' AND s.object_id = d.id)
    """


def unsealed_sql(kinds) -> str:
    """Every kind's rows that must carry a seal and do not (each kind's after its id `after_<kind>`)."""
    return "\nUNION ALL\n".join(_unsealed_branch(kind) for kind in kinds.values()) + "\nORDER BY 1, 2"


# What an incremental check needs before it plans anything: per kind, the newest row sealed up to
# the verified seal (the unique (organization, kind, object_id) index, read backwards: one sub-plan,
# planned once, run per kind), and whether the kind was sealed since (the (organization, seq) index).
_NEWS_SQL = """
SELECT k.kind,
       (SELECT coalesce(max(s.object_id), 0) FROM accounts_sealrecord s
        WHERE s.organization_id = %(org)s AND s.kind = k.kind AND s.seq <= %(since)s),
       k.kind = ANY(array(SELECT DISTINCT s.kind FROM accounts_sealrecord s
                          WHERE s.organization_id = %(org)s AND s.seq > %(since)s))
FROM unnest(%(kinds)s::text[]) AS k(kind)
"""


class Names:
    """Customer names for messages, read only when a message needs one."""

    def __init__(self, cursor, org_id):
        self.cursor, self.org_id, self.cache = cursor, org_id, None

    def customer(self, customer_id) -> str:
        if customer_id is None:
            return ""
        return f" (customer {self.name(customer_id)})"

    def name(self, customer_id) -> str:
        if self.cache is None:
            self.cursor.execute("SELECT id, name FROM accounts_customer WHERE organization_id = %s", [self.org_id])
            self.cache = dict(self.cursor.fetchall())
        return self.cache.get(customer_id, f"#{customer_id}")


def _seal_ranges(lo: int, first: int | None, last: int | None) -> list[tuple[int, int]]:
    """(lo, hi] seal-number ranges of about SEAL_CHUNK records from `lo` to the chain's last."""
    if first is None:
        return [(lo, lo)]
    bounds = list(range(lo, last, SEAL_CHUNK)) + [last]
    return list(zip(bounds, bounds[1:], strict=False))


def _kind_bounds(cursor, org_id, lo, width) -> dict:
    """{range number: {kind: its sealed_sql parameters}} for the records after `lo`, and the first
    and last record's number (None, None: no record after `lo`)."""
    parts, first, last = {}, None, None
    for part, kind, lo_seq, hi_seq, lo_obj, hi_obj, lo_entry, hi_entry in cursor.execute(
            _KIND_BOUNDS_SQL, {"org": org_id, "lo": lo, "width": width}).fetchall():
        parts.setdefault(part, {})[kind] = {f"{kind}_lo": lo_obj, f"{kind}_hi": hi_obj,
                                            f"{kind}_lo_entry": lo_entry, f"{kind}_hi_entry": hi_entry}
        first = lo_seq if first is None else min(first, lo_seq)
        last = hi_seq if last is None else max(last, hi_seq)
    return parts, first, last


def verify_seals_and_subledger(pg, org_id, result, since=(0, GENESIS), since_entry=None, side=None) -> None:
    """`since`: (seal seq, its hash) a previous check vouched for; only the seals after it, and
    the documents they seal, are checked (accounts.ledger_verify_incremental), and the unsealed-row
    scan covers only each kind's rows newer than those sealed up to it; `since_entry` (the id of the
    entry at the verified point, in an incremental check) makes the sub-ledger checks read only the
    journal lines after it, starting from the figures the last clean check vouched for, and only
    the documents those entries and the seals after `since` touched. `side`: a second connection
    in the same snapshot (in pipeline mode) that takes every other range and the sub-ledger."""
    kinds = load_kinds()
    after = {f"after_{k}": 0 for k in kinds}
    with pg.cursor() as c:
        if since[0]:
            # What is new since a clean check is one range. Only the kinds sealed since are
            # re-derived (with nothing new of a kind, its expressions are not even planned); each
            # kind's scan for rows never sealed starts after its newest row sealed up to then.
            ranges = [(since[0], _NO_END)]
            parts, _first, _last = _kind_bounds(c, org_id, since[0], _NO_END)
            if kinds:
                news = c.execute(_NEWS_SQL, {"org": org_id, "since": since[0], "kinds": list(kinds)}).fetchall()
                after = {f"after_{k}": mark for k, mark, _new in news}
        else:
            parts, first, last = _kind_bounds(c, org_id, since[0], SEAL_CHUNK)
            ranges = _seal_ranges(since[0], first, last)
    connections = [pg] if side is None else [pg, side]
    # Every query is sent first (one pipeline: one round trip, not one per query), then each step
    # reads its answers, in this order. A step is a generator that sends, yields, then reads; a
    # sub-ledger check that is a plain function runs whole when called.
    with pg.pipeline():
        names = Names(pg.cursor(), org_id)
        chain = _Chain(pg, org_id, result, since, kinds)
        steps = [chain.head()]
        for i, (lo, hi) in enumerate(ranges):
            on = connections[i % len(connections)]
            steps.append(chain.range(on, lo, hi))
            # Only the kinds this range seals (a kind unknown here is not re-derived; its records
            # still count in the chain, as before).
            present = {k: bounds for k, bounds in parts.get(i, {}).items() if k in kinds}
            if present:
                query = sealed_sql({k: kinds[k] for k in present})
                params = {key: value for bounds in present.values() for key, value in bounds.items()}
                steps.append(_documents(on, org_id, query, kinds, result, names, lo, hi, params))
        if kinds:
            steps.append(_unsealed(pg, org_id, kinds, result, names, after))
        steps.append(chain.end())
        subledger = connections[-1].cursor()
        steps += [check(subledger, org_id, result, names, since_entry=since_entry, since_seal=since[0])
                  for check in SUBLEDGER_CHECKS]
        steps = [step for step in steps if step is not None]
        for step in steps:
            next(step, None)
        for step in steps:
            for _ in step:
                pass


class _Chain:
    """The seal chain from `since`, range by range, joined at the seams."""

    def __init__(self, pg, org_id, result, since, kinds):
        self.pg, self.org_id, self.result, self.kinds = pg, org_id, result, list(kinds)
        self.since = since
        self.prev_seq, self.prev_hash = since

    def head(self):
        at, head = self.pg.cursor(), self.pg.cursor()
        since_seq, since_hash = self.since
        if since_seq:
            at.execute(_AT_SQL, [self.org_id, since_seq])
        head.execute(_HEAD_SQL, [self.org_id])
        self.head_cursor = head
        yield
        if since_seq and at.fetchone() != (since_hash,):
            self.result.fail(f"seal #{since_seq}: no longer has the hash the last check vouched for (run the full "
                             f"check)")

    def range(self, on, lo, hi):
        cursor = on.cursor()
        cursor.execute(_CHAIN_SQL, {"org": self.org_id, "kinds": self.kinds, "lo": lo, "hi": hi})
        yield
        result, sha256 = self.result, hashlib.sha256
        for (seq, kind, object_id, label, entry_hash, content_hash, stored_prev, stored, hash_ok, lag_seq, lag_hash,
             last, n, documents) in cursor.fetchall():
            if lag_seq is None:  # the range's first record: follows the previous range's last
                lag_seq, lag_hash = self.prev_seq, self.prev_hash
            if seq != lag_seq + 1:
                result.fail(f"seal #{seq}: sequence gap, expected #{lag_seq + 1}")
            if stored_prev != lag_hash:
                result.fail(f"seal #{seq}: does not link to the previous seal's hash")
            if not hash_ok:  # the server says so; Python's own text decides (accounts.seals.chain_text)
                text = chain_text(stored_prev, seq, kind, object_id, entry_hash, content_hash, label)
                if sha256(text.encode()).hexdigest() != stored:
                    result.fail(f"seal #{seq} ({label}): its hash does not match its contents (the seal was altered)")
            if last:
                self.prev_seq, self.prev_hash = seq, stored
                result.seals += n
                result.documents += documents

    def end(self):
        yield
        result = self.result
        result.to_seal_seq, result.to_seal_hash = self.prev_seq, self.prev_hash
        head = self.head_cursor.fetchone()
        if head is not None and (head[0], head[1]) != (self.prev_seq, self.prev_hash):
            result.fail(f"the seal chain's head says seal #{head[0]}, the chain ends at seal #{self.prev_seq}")


def _documents(on, org_id, query, kinds, result, names, lo, hi, bounds):
    cursor = on.cursor()
    cursor.execute(query, {"org": org_id, "lo": lo, "hi": hi, **bounds})
    yield
    for (seq, kind_name, label, sealed_hash, entry_id, entry_hash, present, content_hash, now_entry, je_hash,
         je_seq, customer_id) in cursor.fetchall():
        noun = kinds[kind_name].noun
        entry = f"entry #{je_seq}" if je_seq is not None else "no entry"
        if not present:
            result.fail(f"{label}: {noun} sealed in seal #{seq} has been deleted")
            continue
        who = names.customer(customer_id)
        if content_hash != sealed_hash:
            result.fail(f"{label}{who}: {noun} no longer matches the hash sealed in seal #{seq} ({entry})")
        if now_entry != entry_id:
            result.fail(f"{label}{who}: {noun} now points at another journal entry than the one sealed in "
                        f"seal #{seq} ({entry})")
        elif entry_id is not None and je_hash != entry_hash:
            result.fail(f"{label}{who}: its journal {entry} no longer has the hash sealed in seal #{seq}")


def _unsealed(pg, org_id, kinds, result, names, after):
    cursor = pg.cursor()
    cursor.execute(unsealed_sql(kinds), {"org": org_id, **after})
    yield
    for kind_name, object_id, label, customer_id in cursor.fetchall():
        kind = kinds[kind_name]
        result.fail(f"{label or f'{kind.kind} #{object_id}'}{names.customer(customer_id)}: {kind.noun} "
                    f"was never sealed (written past the database's triggers)")
