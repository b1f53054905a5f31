"""The canonical form is stable: the fast renderer writes exactly the bytes of its definition,
and a known entry keeps its known hash (chains written by earlier versions still verify)."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.ledger_chain import canonical, canonical_after_seq, chain_hash, reference_canonical

GOLDEN_ENTRY = {
    "seq": 7, "organization_id": 3, "effective_date": "2026-01-31", "memo": 'Invoice "INV-7" — naïve\n\ttab',
    "source_type": "invoicing.invoice", "source_id": 42, "idempotency_key": "invoice:42:issue", "reverses_id": None,
}
GOLDEN_LINES = [(2, 11, None, "EUR", Decimal("-100")), (1, 10, 5, "EUR", Decimal("121.00")),
                (3, 12, None, "EUR", Decimal("-21.000"))]


def test_a_known_entry_keeps_its_known_hash():
    # Computed with the first version of the ledger (json.dumps of the payload).
    assert chain_hash("0" * 64, GOLDEN_ENTRY, GOLDEN_LINES) == (
        "0ac4bfb946000f2c3015197a44f585fa31e080203262a1b41bb67a6875dcbeab")
    assert canonical(GOLDEN_ENTRY, GOLDEN_LINES) == (
        '[7,3,"2026-01-31","Invoice \\"INV-7\\" — naïve\\n\\ttab","invoicing.invoice",42,"invoice:42:issue",null,'
        '[[1,10,5,"EUR","121.000"],[2,11,null,"EUR","-100.000"],[3,12,null,"EUR","-21.000"]]]'
    ).encode()


ids = st.integers(min_value=1, max_value=2**63 - 1)
text = st.text(max_size=60)  # any unicode without surrogates: quotes, backslashes, control characters
amounts = st.decimals(min_value=Decimal("-999999999999999.999"), max_value=Decimal("999999999999999.999"),
                      places=3, allow_nan=False, allow_infinity=False).filter(lambda d: d != 0)
lines = st.lists(st.tuples(st.integers(1, 32767), ids, st.none() | ids, st.text(min_size=1, max_size=3), amounts),
                 min_size=0, max_size=6, unique_by=lambda line: line[0])
entries = st.fixed_dictionaries({
    "seq": ids, "organization_id": ids, "effective_date": st.dates().map(lambda d: d.isoformat()),
    "memo": text, "source_type": text, "source_id": st.none() | ids, "idempotency_key": text,
    "reverses_id": st.none() | ids,
})


@settings(max_examples=400, deadline=None)
@given(entry=entries, entry_lines=lines)
def test_fast_canonical_equals_the_definition(entry, entry_lines):
    assert canonical(entry, entry_lines) == reference_canonical(entry, entry_lines)


@settings(max_examples=100, deadline=None)
@given(amount=st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=2, allow_nan=False,
                          allow_infinity=False).filter(lambda d: d != 0),
       scale=st.sampled_from(["1", "1.0", "1.000"]))
def test_amounts_are_normalized_to_three_decimals(amount, scale):
    """An amount hashes the same however many trailing zeros it is written with."""
    entry = dict(GOLDEN_ENTRY)
    a = [(1, 1, None, "EUR", amount), (2, 2, None, "EUR", -amount)]
    b = [(1, 1, None, "EUR", amount * Decimal(scale)), (2, 2, None, "EUR", -amount * Decimal(scale))]
    assert canonical(entry, a) == canonical(entry, b) == reference_canonical(entry, b)


@settings(max_examples=200, deadline=None)
@given(entry=entries, entry_lines=lines)
def test_the_part_after_the_sequence_number_completes_the_canonical_form(entry, entry_lines):
    """Posting sends canonical_after_seq to the database, which puts "[" and the sequence number
    it assigns in front and hashes it: that must be the canonical form."""
    assert ("[" + str(entry["seq"]) + canonical_after_seq(entry, entry_lines)).encode() == reference_canonical(
        entry, entry_lines)


# --- Version 2: who, why and when -------------------------------------------------------------

def test_the_database_and_verify_render_the_posting_time_as_the_canonical_form_defines_it():
    from accounts import ledger, ledger_verify
    from accounts.ledger_chain import POSTED_AT_SQL

    assert POSTED_AT_SQL.format("now()") in ledger._POST_SQL
    assert POSTED_AT_SQL.format("posted_at") in ledger_verify._ENTRIES_SQL


@given(entry=entries, entry_lines=lines, actor=st.none() | ids, reason=text, micro=st.integers(0, 999_999))
def test_version_2_is_the_definition_plus_actor_reason_and_time(entry, entry_lines, actor, reason, micro):
    from datetime import UTC, datetime

    at = datetime(2026, 12, 7, 3, 4, 5, micro, tzinfo=UTC)
    v2 = {**entry, "version": 2, "actor_id": actor, "reason": reason, "posted_at": at}
    assert canonical(v2, entry_lines) == reference_canonical(v2, entry_lines)
    assert canonical(v2, entry_lines) != canonical(entry, entry_lines)
    assert canonical(v2, entry_lines).endswith(f'"{at.strftime("%Y-%m-%dT%H:%M:%S.%f")}Z"]'.encode())


# --- The same form in SQL (the full check hashes in the database) -------------------------------

_SQL_HASH = """
SELECT {hash} FROM (
    SELECT %s::bigint AS seq, %s::bigint AS organization_id, %s::date AS effective_date, %s::text AS memo,
           %s::text AS source_type, %s::bigint AS source_id, %s::text AS idempotency_key, %s::bigint AS reverses_id,
           %s::text AS prev_hash, %s::smallint AS hash_version, %s::bigint AS actor_id, %s::text AS reason,
           %s::timestamptz AS posted_at
) e, (
    SELECT string_agg({line}, ',' ORDER BY x.line_no) AS texts, string_agg({base}, ',' ORDER BY x.line_no) AS bases
    FROM unnest(%s::smallint[], %s::bigint[], %s::bigint[], %s::varchar[], %s::numeric(18, 3)[],
                %s::numeric(18, 3)[])
         AS x(line_no, account_id, customer_id, currency, amount, base_amount)
) l
"""
db_text = st.text(max_size=60).filter(lambda s: "\x00" not in s)  # PostgreSQL text holds no NUL


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(entry=entries.map(lambda e: {**e, "memo": e["memo"].replace("\x00", ""),
                                    "source_type": e["source_type"].replace("\x00", ""),
                                    "idempotency_key": e["idempotency_key"].replace("\x00", "")}),
       entry_lines=lines.map(lambda ls: [(n, a, c, cur.replace("\x00", "") or "X", amt) for n, a, c, cur, amt in ls]),
       version=st.sampled_from([1, 2, 3]), actor=st.none() | ids, reason=db_text, micro=st.integers(0, 999_999))
def test_the_database_builds_and_hashes_the_same_canonical_form(entry, entry_lines, version, actor, reason, micro):
    """ledger_chain.chain_hash_sql (the full check) against chain_hash (posting): the same hash for
    any text (quotes, backslashes, control characters, any script), amount, date and version; a
    version it does not know gives NULL (the verifier then takes the general path)."""
    from datetime import UTC, datetime

    from django.db import connection

    from accounts.ledger_chain import base_sql, chain_hash_sql, line_sql

    at = datetime(2026, 12, 7, 3, 4, 5, micro, tzinfo=UTC)
    full = {**entry, "version": version, "actor_id": actor, "reason": reason, "posted_at": at}
    prev = "ab" * 32
    # Version 3 seals each line's base amount too: here the amount's negation, any numeric will do.
    entry_lines = [(*line, Decimal(0) - Decimal(line[4])) for line in entry_lines]
    columns = list(zip(*entry_lines, strict=True)) if entry_lines else [[]] * 6
    with connection.cursor() as c:
        c.execute(_SQL_HASH.format(hash=chain_hash_sql("e", "l.texts", "l.bases"), line=line_sql("x"),
                                   base=base_sql("x")),
                  [entry["seq"], entry["organization_id"], entry["effective_date"], entry["memo"],
                   entry["source_type"], entry["source_id"], entry["idempotency_key"], entry["reverses_id"], prev,
                   version, actor, reason, at, *[list(col) for col in columns]])
        in_sql = c.fetchone()[0]
    assert in_sql == chain_hash(prev, full, entry_lines)
