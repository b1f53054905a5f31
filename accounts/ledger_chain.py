"""The hash chain: hash = sha256(prev_hash || canonical(entry, lines)).

One canonical form, used when posting and when verifying. It covers everything that gives an
entry its meaning: sequence, dates, source, key, reversal link and every line's account,
customer, currency and amount (normalized to three decimals, the column's scale).

The canonical form is, by definition, the compact JSON array

    [seq, organization_id, "effective_date", "memo", "source_type", source_id,
     "idempotency_key", reverses_id, [[line_no, account_id, customer_id, "currency", "amount"], ...]]

as `json.dumps(..., separators=(",", ":"), ensure_ascii=False)` writes it, lines sorted, each
amount as the string of the Decimal quantized to 0.001 (`reference_canonical` spells that out).
`canonical` produces the same bytes several times faster by formatting the few scalar types
directly and leaving string escaping to the json module's own C escaper; anything of another
type falls back to `json.dumps`. tests/ledger/test_chain.py checks the two agree.

Version 2 (every entry `ledger.post` writes since the seal, `hash_version` = 2) appends who posted
it, why, and when, so none of them can be changed unnoticed either:

    [..., [[line], ...], actor_id, "reason", "posted_at"]

posted_at in UTC as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (POSTED_AT_SQL renders the same in the
database). Entries written before (and by the bulk door, which has no actor or reason) stay
version 1; verify_ledger checks each entry by its own version.

Version 3 (issue 17: every entry `ledger.post` and `ledger_bulk.bulk_post` write since base amounts)
also seals each line's amount in the organization's base currency, in line order, between the reason
and the posting time:

    [..., [[line], ...], actor_id, "reason", ["base amount", ...], "posted_at"]

Its lines are (line_no, account_id, customer_id, currency, amount, base_amount); versions 1 and 2
read the first five. Entries of versions 1 and 2 keep verifying under their own version.
"""

import hashlib
import json
from datetime import UTC
from decimal import Decimal
from json.encoder import encode_basestring as _json_str  # exactly what json.dumps(ensure_ascii=False) uses

SCALE = Decimal("0.001")
VERSION = 3  # what ledger.post writes
# posted_at as the version-2 canonical form writes it, in SQL, for a timestamptz expression.
POSTED_AT_SQL = "to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def posted_text(posted_at) -> str:
    if isinstance(posted_at, str):
        return posted_at
    return posted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def v2_middle(actor_id, reason) -> str:
    """What version 2 puts between the line list and the posting time."""
    return f",{_scalar(actor_id)},{_scalar(reason)},"


def v3_middle(actor_id, reason, bases) -> str:
    """What version 3 puts between the line list and the posting time: who, why, base amounts."""
    amounts = ",".join(['"' + amount_text(b) + '"' for b in bases])
    return f",{_scalar(actor_id)},{_scalar(reason)},[{amounts}],"


def _v2(text: str, entry: dict, lines=()) -> str:
    version = entry.get("version", 1)
    if version == 1:
        return text
    if version == 3:
        middle = v3_middle(entry["actor_id"], entry["reason"], [line[5] for line in sorted(lines)])
        return f'{text[:-1]}{middle}"{posted_text(entry["posted_at"])}"]'
    return f'{text[:-1]}{v2_middle(entry["actor_id"], entry["reason"])}"{posted_text(entry["posted_at"])}"]'

_sha256 = hashlib.sha256


def reference_canonical(entry: dict, lines: list[tuple]) -> bytes:
    """The definition of the canonical form (slow; tests compare `canonical` against it)."""
    payload = [
        entry["seq"], entry["organization_id"], entry["effective_date"], entry["memo"],
        entry["source_type"], entry["source_id"], entry["idempotency_key"], entry["reverses_id"],
        [[no, account, customer, currency, str(Decimal(amount).quantize(SCALE))]
         for no, account, customer, currency, amount, *_base in sorted(lines)],
    ]
    if entry.get("version", 1) == 2:
        payload += [entry["actor_id"], entry["reason"], posted_text(entry["posted_at"])]
    if entry.get("version", 1) == 3:
        payload += [entry["actor_id"], entry["reason"],
                    [str(Decimal(line[5]).quantize(SCALE)) for line in sorted(lines)], posted_text(entry["posted_at"])]
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _scalar(value) -> str:
    """JSON for one scalar, as json.dumps writes it."""
    kind = type(value)
    if kind is int:
        return int.__repr__(value)
    if kind is str:
        return _json_str(value)
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False)


def amount_text(amount) -> str:
    """An amount as the canonical form writes it: the Decimal quantized to the column's scale."""
    if type(amount) is not Decimal:
        amount = Decimal(amount)
    return str(amount.quantize(SCALE))


def line_text(no, account, customer, currency, amount) -> str:
    # The amount's text is a Decimal's str: digits, sign, point, exponent; nothing JSON escapes.
    return f'[{_scalar(no)},{_scalar(account)},{_scalar(customer)},{_scalar(currency)},"{amount_text(amount)}"]'


def head_text(seq, organization_id, effective_date, memo, source_type, source_id, idempotency_key,
              reverses_id) -> str:
    """The entry's part of the canonical form, up to and including the opening of the line list."""
    return f"[{_scalar(seq)}" + head_tail(organization_id, effective_date, memo, source_type, source_id,
                                          idempotency_key, reverses_id)


def head_tail(organization_id, effective_date, memo, source_type, source_id, idempotency_key, reverses_id) -> str:
    """head_text after its first element (the sequence number, which the database assigns)."""
    return (f",{_scalar(organization_id)},{_scalar(effective_date)},{_scalar(memo)},"
            f"{_scalar(source_type)},{_scalar(source_id)},{_scalar(idempotency_key)},{_scalar(reverses_id)},[")


def canonical_after_seq(entry: dict, lines: list[tuple]) -> str:
    """The canonical form without its opening "[" and sequence number: canonical(entry, lines) is
    ("[" + str(entry["seq"]) + canonical_after_seq(entry, lines)).encode(). Posting sends this to
    the database, which prefixes the sequence number it assigns under the ledger head lock."""
    head = head_tail(entry["organization_id"], entry["effective_date"], entry["memo"], entry["source_type"],
                     entry["source_id"], entry["idempotency_key"], entry["reverses_id"])
    return f"{head}{','.join([line_text(*line[:5]) for line in sorted(lines)])}]]"


def canonical(entry: dict, lines: list[tuple]) -> bytes:
    """entry: seq, organization_id, effective_date (ISO string), memo, source_type, source_id,
    idempotency_key, reverses_id. lines: (line_no, account_id, customer_id, currency, amount)."""
    head = head_text(entry["seq"], entry["organization_id"], entry["effective_date"], entry["memo"],
                     entry["source_type"], entry["source_id"], entry["idempotency_key"], entry["reverses_id"])
    body = ",".join([line_text(*line[:5]) for line in sorted(lines)])
    return _v2(f"{head}{body}]]", entry, lines).encode()


def chain_hash(prev_hash: str, entry: dict, lines: list[tuple]) -> str:
    return _sha256(prev_hash.encode() + canonical(entry, lines)).hexdigest()



# The same canonical form in SQL, for the full check (accounts.ledger_verify), which lets the
# database build each entry's bytes and hash them (sha256()) instead of a Python loop. Text for
# text: integers print alike, to_json() escapes a string exactly as json's encode_basestring
# (" \ \b \f \n \r \t, other control characters as \u00xx in lower case, nothing else),
# numeric(18, 3) prints as the quantized Decimal, dates as ISO. tests/ledger/test_chain.py checks
# that both give the same bytes. A version it does not know gives NULL: the verifier then
# recomputes that entry the general way (chain_hash), so a new version is slower, never wrong.
LINE_SQL = ("'[' || {l}.line_no || ',' || {l}.account_id || ',' || coalesce({l}.customer_id::text, 'null') || ','"
            " || to_json({l}.currency::text)::text || ',\"' || {l}.amount::text || '\"]'")


def line_sql(alias: str) -> str:
    """SQL for line_text() of journal line `alias` (joined with ',' in line order: the line list)."""
    return LINE_SQL.format(l=alias)


BASE_SQL = "'\"' || {l}.base_amount::text || '\"'"


def base_sql(alias: str) -> str:
    """SQL for one line's base amount as version 3 writes it (joined with ',' in line order)."""
    return BASE_SQL.format(l=alias)


def canonical_sql(e: str, lines: str, bases: str | None = None) -> str:
    """SQL for canonical() of journal entry alias `e` (text, not yet bytes), given `lines`: an SQL
    expression for its line texts (line_sql) joined with ',' in line order, and `bases`: its lines'
    base amounts (base_sql) joined alike (version 3; without it a version-3 entry gives NULL)."""
    head = (f"'[' || {e}.seq || ',' || {e}.organization_id || ',\"' || to_char({e}.effective_date, 'YYYY-MM-DD')"
            f" || '\",' || to_json({e}.memo::text)::text || ',' || to_json({e}.source_type::text)::text || ','"
            f" || coalesce({e}.source_id::text, 'null') || ',' || to_json({e}.idempotency_key::text)::text || ','"
            f" || coalesce({e}.reverses_id::text, 'null') || ',[' || coalesce({lines}, '') || ']'")
    who = f"',' || coalesce({e}.actor_id::text, 'null') || ',' || to_json({e}.reason::text)::text || ','"
    when = f"'\"' || {POSTED_AT_SQL.format(f'{e}.posted_at')} || '\"]'"
    v3 = f" WHEN 3 THEN {who} || '[' || coalesce({bases}, '') || '],' || {when}" if bases else ""
    tail = f"CASE {e}.hash_version WHEN 1 THEN ']' WHEN 2 THEN {who} || {when}{v3} END"
    return f"({head} || {tail})"


def chain_hash_sql(e: str, lines: str, bases: str | None = None) -> str:
    """SQL for chain_hash() of entry alias `e`: sha256(prev_hash || canonical), as hex."""
    return f"encode(sha256(convert_to({e}.prev_hash || {canonical_sql(e, lines, bases)}, 'UTF8')), 'hex')"
