"""The seal chain: what each issued document, stored PDF, payment and allocation said, bound to
the journal (DESIGN.md invariant 9).

Every sealed row gets one `SealRecord`, written by the database itself (a trigger per kind, so
no code path and no role escapes it): the SHA-256 of the row's canonical content (for an
invoice: number, dates, customer, totals, the issued snapshot and every line; for a stored PDF:
its bytes), the hash of the journal entry the row is tied to (an invoice's issue entry, a
payment's receipt entry), and its place in a per-organization hash chain:

    hash = sha256(prev_hash | seq | kind | object_id | entry_hash | content_hash | label)

The chain's head lives on the organization's ledger head row, so sealing takes the same lock as
posting (one lock order: invoices, payment or credit note, ledger head) and the seal of an issue
and its journal entry are made under one lock in one transaction. `verify_ledger` walks this
chain, re-derives every content hash from the rows as they are now, checks each sealed row still
exists and still points at the same journal entry, and that every row that must be sealed is:
"INV-2026-00179: the invoice no longer matches the hash sealed in seal #12 (entry #412)".

Each app declares the kinds it owns in its `seals.py` (`register(SealKind(...))`); the content
expression is SQL over the row alias `d`, used verbatim by the trigger and by the check, so the
two cannot drift apart. Dates are rendered with to_char (not DateStyle), numerics and jsonb by
their canonical text. A kind's expression never changes once rows are sealed with it: a new
rule is a new kind version (`content_version` in the record).
"""

from dataclasses import dataclass

from django.db import migrations
from django.utils.module_loading import autodiscover_modules

GENESIS = "0" * 64


@dataclass(frozen=True)
class Children:
    """A kind's child rows folded into its content (an invoice's lines): `agg`, an aggregate over
    the child alias `l`, of the rows of `table` whose `fk` is the document's id. The seal trigger
    reads it as a correlated subquery per document (`subquery`); the full check groups a whole
    range's children once (accounts.ledger_verify_seals), with the same aggregate, so the same text."""

    table: str
    fk: str
    agg: str

    @property
    def subquery(self) -> str:
        return f"(SELECT {self.agg}\n         FROM {self.table} l WHERE l.{self.fk} = d.id)"


@dataclass(frozen=True)
class SealKind:
    kind: str  # 'invoice', 'credit_note', 'pdf', 'payment', ...
    table: str
    content: str  # SQL text expression over `d`: what is sealed
    label: str  # SQL text expression over `d`: how a problem names the row
    sealed_when: str = "true"  # SQL condition over `d`: rows that must carry a seal
    entry: str = "NULL::bigint"  # SQL expression over `d`: the journal entry the row is tied to
    customer: str = "d.customer_id"  # SQL expression over `d`: whose it is
    update_of: str = ""  # a column whose change (to sealed_when) seals an existing row; "" = on insert only
    deferred: bool = False  # seal at commit (the row's children are inserted after it)
    noun: str = ""  # how a message calls it: "the invoice"
    children: Children | None = None  # child rows in `content`, as `children.subquery`

    def __post_init__(self):
        assert self.children is None or self.children.subquery in self.content, \
            f"{self.kind}: content must read its children as children.subquery"

    def hash_sql(self, children: str | None = None) -> str:
        """The content hash; `children`: an expression that replaces the children's subquery (their
        aggregate, grouped once for many documents)."""
        content = self.content
        if children is not None and self.children is not None:
            content = content.replace(self.children.subquery, children)
        return f"encode(sha256(convert_to({content}, 'UTF8')), 'hex')"


KINDS: dict[str, SealKind] = {}


def register(kind: SealKind) -> SealKind:
    KINDS[kind.kind] = kind
    return kind


def load_kinds() -> dict[str, SealKind]:
    autodiscover_modules("seals")
    return KINDS


def iso(expr: str) -> str:
    return f"to_char({expr}, 'YYYY-MM-DD')"


def instant(expr: str) -> str:
    """A timestamptz as UTC text to the microsecond, whatever the session's TimeZone ('' for NULL)."""
    return f"coalesce(to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')"


def chain_text(prev_hash: str, seq: int, kind: str, object_id: int, entry_hash: str | None,
               content_hash: str, label: str) -> str:
    """What a seal record's hash covers; `ledger_seal()` in the database builds the same text."""
    return f"{prev_hash}|{seq}|{kind}|{object_id}|{entry_hash or '-'}|{content_hash}|{label}"


SEAL_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_seal(org bigint, seal_kind text, obj bigint, obj_label text, entry bigint,
                                       content text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    next_seq bigint;
    prev text;
    entry_hash text;
    digest text;
BEGIN
    IF EXISTS (SELECT 1 FROM accounts_sealrecord
               WHERE organization_id = org AND kind = seal_kind AND object_id = obj) THEN
        RETURN;
    END IF;
    UPDATE accounts_ledgerhead SET seal_seq = seal_seq + 1 WHERE organization_id = org
        RETURNING seal_seq, seal_hash INTO next_seq, prev;
    IF next_seq IS NULL THEN
        RAISE EXCEPTION 'organization % has no ledger head to seal %', org, seal_kind;
    END IF;
    IF entry IS NOT NULL THEN
        SELECT hash INTO entry_hash FROM accounts_journalentry WHERE id = entry;
    END IF;
    digest := encode(sha256(convert_to(prev || '|' || next_seq || '|' || seal_kind || '|' || obj || '|'
                                       || coalesce(entry_hash, '-') || '|' || content || '|'
                                       || coalesce(obj_label, ''), 'UTF8')), 'hex');
    INSERT INTO accounts_sealrecord (organization_id, seq, kind, object_id, label, entry_id, entry_hash,
                                     content_hash, prev_hash, hash, sealed_at)
    VALUES (org, next_seq, seal_kind, obj, coalesce(obj_label, ''), entry, entry_hash, content, prev, digest,
            now());
    UPDATE accounts_ledgerhead SET seal_hash = digest WHERE organization_id = org;
END;
$$;
"""
DROP_SEAL_FUNCTION = "DROP FUNCTION ledger_seal(bigint, text, bigint, text, bigint, text);"


def seal_function_sql(name: str, kind: SealKind, match: str = "d.id = NEW.id") -> str:
    """A trigger function `name` that seals the rows of `kind` that `match` (SQL over the row `d` and the
    trigger's NEW) and are due to be sealed, each with its content as it is then."""
    return f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        acting text := current_setting('app.organization_id', true);
    BEGIN
        -- Act for the row's own organization (row-level security already let it be written): a
        -- deferred seal runs at commit, when the code that wrote the row may have left its context.
        PERFORM set_config('app.organization_id', NEW.organization_id::text, true);
        PERFORM ledger_seal(d.organization_id, '{kind.kind}', d.id, {kind.label}, {kind.entry}, {kind.hash_sql()})
        FROM {kind.table} d WHERE {match} AND ({kind.sealed_when});
        PERFORM set_config('app.organization_id', coalesce(acting, ''), true);
        RETURN NULL;
    END;
    $$;
    """


def trigger_sql(kind: SealKind) -> migrations.RunSQL:
    """The trigger that seals `kind`'s rows: after insert (and after `update_of` changes), with
    the row as it is then (at commit for a deferred kind)."""
    name = f"ledger_seal_{kind.kind}"
    function = seal_function_sql(name, kind)
    return migrations.RunSQL(function + _create_trigger(kind),
                             f"DROP TRIGGER {name} ON {kind.table}; DROP FUNCTION {name}();")


def _create_trigger(kind: SealKind, only_when_sealed: bool = False) -> str:
    name = f"ledger_seal_{kind.kind}"
    timing = "DEFERRABLE INITIALLY DEFERRED" if kind.deferred else "NOT DEFERRABLE"
    events = "INSERT" + (f" OR UPDATE OF {kind.update_of}" if kind.update_of else "")
    when = f" WHEN ({kind.sealed_when.replace('d.', 'NEW.')})" if only_when_sealed else ""
    return (f"CREATE CONSTRAINT TRIGGER {name} AFTER {events} ON {kind.table} {timing} "
            f"FOR EACH ROW{when} EXECUTE FUNCTION {name}();")


def seal_only_when_sealed_sql(kind: SealKind) -> migrations.RunSQL:
    """Re-create `kind`'s row trigger so that it fires only for a row that must be sealed (its
    `sealed_when` read on NEW): a row written in an earlier state (a reminder still in the outbox)
    no longer calls the trigger function and its query at all. Only for a kind sealed at once (a
    deferred kind's condition would be read before commit) whose condition names its own columns."""
    assert not kind.deferred and kind.sealed_when != "true" and "SELECT" not in kind.sealed_when.upper()
    drop = f"DROP TRIGGER ledger_seal_{kind.kind} ON {kind.table};"
    return migrations.RunSQL(drop + _create_trigger(kind, only_when_sealed=True), drop + _create_trigger(kind))


def backfill_sql(kind: SealKind) -> migrations.RunSQL:
    """Seal the rows that existed before the trigger (run by the migration's owner role, which
    sees every organization's rows), oldest first."""
    return migrations.RunSQL(
        f"SELECT ledger_seal(d.organization_id, '{kind.kind}', d.id, {kind.label}, {kind.entry}, {kind.hash_sql()}) "
        f"FROM {kind.table} d WHERE ({kind.sealed_when}) ORDER BY d.organization_id, d.id;",
        migrations.RunSQL.noop,
    )


# Set-based sealing: one statement's rows in one call (issue 14, bulk imports). The rule is the
# same as ledger_seal() row by row (same text hashed, same chain, same lock), but the head row is
# locked once, read once and moved once per statement, instead of updated twice per sealed row
# (thousands of updates of one row in one transaction grow its version chain, and each update
# costs more than the last).
SEAL_ROWS_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_seal_rows(org bigint, seal_kind text, objs bigint[], obj_labels text[],
                                            entries bigint[], contents text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head_seq bigint;
    prev text;
    entry_hash text;
    digest text;
    i integer;
BEGIN
    -- The lock posting takes, held to commit: two statements sealing for one organization run one
    -- after the other, the second continuing the chain from the first's head.
    SELECT seal_seq, seal_hash INTO head_seq, prev FROM accounts_ledgerhead WHERE organization_id = org
        FOR UPDATE;
    IF head_seq IS NULL THEN
        RAISE EXCEPTION 'organization % has no ledger head to seal %', org, seal_kind;
    END IF;
    FOR i IN 1 .. coalesce(array_length(objs, 1), 0) LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM accounts_sealrecord
                              WHERE organization_id = org AND kind = seal_kind AND object_id = objs[i]);
        head_seq := head_seq + 1;
        entry_hash := NULL;
        IF entries[i] IS NOT NULL THEN
            SELECT hash INTO entry_hash FROM accounts_journalentry WHERE id = entries[i];
        END IF;
        digest := encode(sha256(convert_to(prev || '|' || head_seq || '|' || seal_kind || '|' || objs[i] || '|'
                                           || coalesce(entry_hash, '-') || '|' || contents[i] || '|'
                                           || coalesce(obj_labels[i], ''), 'UTF8')), 'hex');
        INSERT INTO accounts_sealrecord (organization_id, seq, kind, object_id, label, entry_id, entry_hash,
                                         content_hash, prev_hash, hash, sealed_at)
        VALUES (org, head_seq, seal_kind, objs[i], coalesce(obj_labels[i], ''), entries[i], entry_hash,
                contents[i], prev, digest, now());
        prev := digest;
    END LOOP;
    UPDATE accounts_ledgerhead SET seal_seq = head_seq, seal_hash = prev
        WHERE organization_id = org AND seal_seq <> head_seq;
END;
$$;
"""
DROP_SEAL_ROWS_FUNCTION = "DROP FUNCTION ledger_seal_rows(bigint, text, bigint[], text[], bigint[], text[]);"

# The same rule without a query per row (issue 14, imports at speed). The first version asked, for
# every row, whether it was sealed already and what its entry's hash was: two statements per row,
# whose plans PL/pgSQL caches for the session. Planned while the import's tables were nearly empty,
# those plans scan the seal records in full for every row of a large import (12 ms a row at 4,000
# invoices). Now both questions are asked once for the whole call (`= ANY`, one scan at worst), the
# chain is computed in the loop from what they returned, and the records go in by one INSERT.
# What is hashed, the order (the statement's id order), the lock and the head are unchanged.
SEAL_ROWS_FUNCTION_SET = """
CREATE OR REPLACE FUNCTION ledger_seal_rows(org bigint, seal_kind text, objs bigint[], obj_labels text[],
                                            entries bigint[], contents text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head_seq bigint;
    prev text;
    done bigint[];
    entry_hashes jsonb;
    entry_hash text;
    digest text;
    i integer;
    n integer := coalesce(array_length(objs, 1), 0);
    out_seq bigint[] := '{}';
    out_obj bigint[] := '{}';
    out_label text[] := '{}';
    out_entry bigint[] := '{}';
    out_entry_hash text[] := '{}';
    out_content text[] := '{}';
    out_prev text[] := '{}';
    out_hash text[] := '{}';
BEGIN
    -- The lock posting takes, held to commit: two statements sealing for one organization run one
    -- after the other, the second continuing the chain from the first's head.
    SELECT seal_seq, seal_hash INTO head_seq, prev FROM accounts_ledgerhead WHERE organization_id = org
        FOR UPDATE;
    IF head_seq IS NULL THEN
        RAISE EXCEPTION 'organization % has no ledger head to seal %', org, seal_kind;
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;
    SELECT array_agg(object_id) INTO done FROM accounts_sealrecord
     WHERE organization_id = org AND kind = seal_kind AND object_id = ANY(objs);
    SELECT jsonb_object_agg(id::text, hash) INTO entry_hashes FROM accounts_journalentry
     WHERE id = ANY(entries);
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN done IS NOT NULL AND objs[i] = ANY(done);
        head_seq := head_seq + 1;
        entry_hash := NULL;
        IF entries[i] IS NOT NULL THEN
            entry_hash := entry_hashes ->> entries[i]::text;
        END IF;
        digest := encode(sha256(convert_to(prev || '|' || head_seq || '|' || seal_kind || '|' || objs[i] || '|'
                                           || coalesce(entry_hash, '-') || '|' || contents[i] || '|'
                                           || coalesce(obj_labels[i], ''), 'UTF8')), 'hex');
        out_seq := out_seq || head_seq;
        out_obj := out_obj || objs[i];
        out_label := out_label || coalesce(obj_labels[i], '');
        out_entry := out_entry || entries[i];
        out_entry_hash := out_entry_hash || entry_hash;
        out_content := out_content || contents[i];
        out_prev := out_prev || prev;
        out_hash := out_hash || digest;
        prev := digest;
    END LOOP;
    IF array_length(out_seq, 1) IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO accounts_sealrecord (organization_id, seq, kind, object_id, label, entry_id, entry_hash,
                                     content_hash, prev_hash, hash, sealed_at)
    SELECT org, s, seal_kind, o, l, e, eh, c, p, h, now()
      FROM unnest(out_seq, out_obj, out_label, out_entry, out_entry_hash, out_content, out_prev, out_hash)
           AS u(s, o, l, e, eh, c, p, h)
     ORDER BY s;
    UPDATE accounts_ledgerhead SET seal_seq = head_seq, seal_hash = prev WHERE organization_id = org;
END;
$$;
"""


def statement_trigger_sql(kind: SealKind) -> migrations.RunSQL:
    """Seal `kind`'s inserted rows once per statement (a transition table, `ledger_seal_rows`),
    replacing trigger_sql's row trigger for INSERT; a kind with `update_of` keeps a row trigger
    for that UPDATE only (PostgreSQL gives no transition table to a trigger with a column list).
    Not for deferred kinds: a statement trigger cannot wait for commit."""
    assert not kind.deferred, f"{kind.kind} is sealed at commit, which a statement trigger cannot do"
    name = f"ledger_seal_{kind.kind}_insert"
    function = f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        acting text := current_setting('app.organization_id', true);
        org bigint;
        r record;
    BEGIN
        FOR org IN SELECT DISTINCT n.organization_id FROM new_rows n ORDER BY 1 LOOP
            -- Each organization's rows under its own context (row-level security let them be written).
            PERFORM set_config('app.organization_id', org::text, true);
            SELECT array_agg(d.id ORDER BY d.id) AS objs, array_agg({kind.label} ORDER BY d.id) AS labels,
                   array_agg({kind.entry} ORDER BY d.id) AS entries,
                   array_agg({kind.hash_sql()} ORDER BY d.id) AS contents
              INTO r
              FROM {kind.table} d
             WHERE d.id IN (SELECT n.id FROM new_rows n WHERE n.organization_id = org) AND ({kind.sealed_when});
            IF r.objs IS NOT NULL THEN
                PERFORM ledger_seal_rows(org, '{kind.kind}', r.objs, r.labels, r.entries, r.contents);
            END IF;
        END LOOP;
        PERFORM set_config('app.organization_id', coalesce(acting, ''), true);
        RETURN NULL;
    END;
    $$;
    CREATE TRIGGER {name} AFTER INSERT ON {kind.table} REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION {name}();
    """
    row = f"ledger_seal_{kind.kind}"
    if kind.update_of:
        keep = (f"DROP TRIGGER {row} ON {kind.table}; CREATE CONSTRAINT TRIGGER {row} AFTER UPDATE OF "
                f"{kind.update_of} ON {kind.table} NOT DEFERRABLE FOR EACH ROW EXECUTE FUNCTION {row}();")
    else:
        keep = f"DROP TRIGGER {row} ON {kind.table}; DROP FUNCTION {row}();"
    back = f"DROP TRIGGER {name} ON {kind.table}; DROP FUNCTION {name}();"
    if kind.update_of:
        back += f" DROP TRIGGER {row} ON {kind.table};"
    restore = trigger_sql(kind)
    return migrations.RunSQL(function + keep, [back, restore.sql])


# What accounts itself seals: each change of an organization's lock date or books start (close,
# reopen, books start moved): who, when, from where, the dates before and after, why. It posts
# nothing (no entry); the database already refuses to change it (append-only), and the seal makes
# a change or deletion past the triggers visible to verify_ledger. Dates absent (no lock before,
# none after) hash as '' (concat_ws would otherwise skip them and shift the fields).
PERIOD_LOCK = register(SealKind(
    kind="period_lock", table="accounts_periodlockevent", noun="the period-lock event",
    label="'period lock: ' || d.action || ' ' || coalesce(to_char(d.old_date, 'YYYY-MM-DD'), 'none') || ' → '"
          " || coalesce(to_char(d.new_date, 'YYYY-MM-DD'), 'none') || ' (event #' || d.id || ')'",
    customer="NULL::bigint",
    content=f"""concat_ws('|', 'period-lock-v1', d.action, coalesce({iso('d.old_date')}, ''),
        coalesce({iso('d.new_date')}, ''), coalesce(d.actor_id, 0), d.reason, coalesce(host(d.ip), ''),
        {instant('d.at')})""",
))
