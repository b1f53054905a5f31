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
"""

import hashlib

from accounts.seals import GENESIS, SealKind, chain_text, load_kinds

# Callables (cursor, org_id, result, names, since_entry=None, since_seal=0) registered by the apps that own
# the sub-ledger; in an incremental check they get the entry id and seal number of the verified point.
SUBLEDGER_CHECKS = []

_CHAIN_SQL = """
SELECT seq, kind, object_id, label, entry_hash, content_hash, prev_hash, hash
FROM accounts_sealrecord WHERE organization_id = %s AND seq > %s ORDER BY seq
"""
_HEAD_SQL = "SELECT seal_seq, seal_hash FROM accounts_ledgerhead WHERE organization_id = %s"


def _sealed_sql(kind: SealKind) -> str:
    return f"""
    SELECT s.seq, s.object_id, s.label, s.content_hash, s.entry_id, s.entry_hash,
           d.id IS NOT NULL, CASE WHEN d.id IS NOT NULL THEN {kind.hash_sql()} END,
           CASE WHEN d.id IS NOT NULL THEN {kind.entry} END, je.hash, je.seq,
           CASE WHEN d.id IS NOT NULL THEN {kind.customer} END
    FROM accounts_sealrecord s
    LEFT JOIN {kind.table} d ON d.id = s.object_id
    LEFT JOIN accounts_journalentry je ON je.id = s.entry_id
    WHERE s.organization_id = %(org)s AND s.kind = %(kind)s AND s.seq > %(since)s
    """


def _unsealed_sql(kind: SealKind) -> str:
    return f"""
    SELECT d.id, {kind.label}, {kind.customer} FROM {kind.table} d
    WHERE d.organization_id = %(org)s AND ({kind.sealed_when}) AND NOT EXISTS (
        SELECT 1 FROM accounts_sealrecord s
        WHERE s.organization_id = d.organization_id AND s.kind = %(kind)s AND s.object_id = d.id)
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


def verify_seals_and_subledger(pg, org_id, result, since=(0, GENESIS), since_entry=None) -> None:
    """`since`: (seal seq, its hash) a previous check vouched for; only the seals after it, and
    the documents they seal, are checked (accounts.ledger_verify_incremental). The unsealed-row
    scan always covers the whole organization; `since_entry` (the id of the entry at the verified
    point, in an incremental check) makes the sub-ledger checks read only the journal lines after
    it, starting from the figures the last clean check vouched for, and only the documents those
    entries and the seals after `since` touched."""
    kinds = load_kinds()
    # Every query is sent first (one pipeline: one round trip, not one per query), then each step
    # reads its answers, in this order. A step is a generator that sends, yields, then reads; a
    # sub-ledger check that is a plain function runs whole when called.
    with pg.pipeline(), pg.cursor() as cursor:
        names = Names(pg.cursor(), org_id)
        steps = [_chain(pg, org_id, result, since)]
        steps += [_documents(pg, org_id, kind, result, names, since[0]) for kind in kinds.values()]
        steps += [check(cursor, org_id, result, names, since_entry=since_entry, since_seal=since[0])
                  for check in SUBLEDGER_CHECKS]
        steps = [step for step in steps if step is not None]
        for step in steps:
            next(step, None)
        for step in steps:
            for _ in step:
                pass


def _chain(pg, org_id, result, since):
    sha256 = hashlib.sha256
    prev_seq, prev_hash = since
    at, chain, head = pg.cursor(), pg.cursor(), pg.cursor()
    if prev_seq:
        at.execute("SELECT hash FROM accounts_sealrecord WHERE organization_id = %s AND seq = %s", [org_id, prev_seq])
    chain.execute(_CHAIN_SQL, [org_id, prev_seq])
    head.execute(_HEAD_SQL, [org_id])
    yield
    if prev_seq and at.fetchone() != (prev_hash,):
        result.fail(f"seal #{prev_seq}: no longer has the hash the last check vouched for (run the full check)")
    for seq, kind, object_id, label, entry_hash, content_hash, stored_prev, stored in chain.fetchall():
        result.seals += 1
        if seq != prev_seq + 1:
            result.fail(f"seal #{seq}: sequence gap, expected #{prev_seq + 1}")
        if stored_prev != prev_hash:
            result.fail(f"seal #{seq}: does not link to the previous seal's hash")
        text = chain_text(stored_prev, seq, kind, object_id, entry_hash, content_hash, label)
        if sha256(text.encode()).hexdigest() != stored:
            result.fail(f"seal #{seq} ({label}): its hash does not match its contents (the seal was altered)")
        prev_seq, prev_hash = seq, stored
    result.to_seal_seq, result.to_seal_hash = prev_seq, prev_hash
    head = head.fetchone()
    if head is not None and (head[0], head[1]) != (prev_seq, prev_hash):
        result.fail(f"the seal chain's head says seal #{head[0]}, the chain ends at seal #{prev_seq}")


def _documents(pg, org_id, kind: SealKind, result, names, since=0):
    params = {"org": org_id, "kind": kind.kind, "since": since}
    sealed, unsealed = pg.cursor(), pg.cursor()
    sealed.execute(_sealed_sql(kind), params)
    unsealed.execute(_unsealed_sql(kind), params)
    yield
    rows = sealed.fetchall()
    for (seq, _object_id, label, sealed_hash, entry_id, entry_hash, present, content_hash, now_entry, je_hash,
         je_seq, customer_id) in rows:
        result.documents += 1
        entry = f"entry #{je_seq}" if je_seq is not None else "no entry"
        if not present:
            result.fail(f"{label}: {kind.noun} sealed in seal #{seq} has been deleted")
            continue
        who = names.customer(customer_id) if (content_hash != sealed_hash or now_entry != entry_id
                                              or je_hash != entry_hash) else ""
        if content_hash != sealed_hash:
            result.fail(f"{label}{who}: {kind.noun} no longer matches the hash sealed in seal #{seq} ({entry})")
        if now_entry != entry_id:
            result.fail(f"{label}{who}: {kind.noun} now points at another journal entry than the one sealed in "
                        f"seal #{seq} ({entry})")
        elif entry_id is not None and je_hash != entry_hash:
            result.fail(f"{label}{who}: its journal {entry} no longer has the hash sealed in seal #{seq}")
    for object_id, label, customer_id in unsealed.fetchall():
        result.fail(f"{label or f'{kind.kind} #{object_id}'}{names.customer(customer_id)}: {kind.noun} "
                    f"was never sealed (written past the database's triggers)")
