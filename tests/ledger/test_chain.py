"""The canonical form is stable: the fast renderer writes exactly the bytes of its definition,
and a known entry keeps its known hash (chains written by earlier versions still verify)."""

from decimal import Decimal

from hypothesis import given, settings
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
