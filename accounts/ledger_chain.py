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
"""

import hashlib
import json
from decimal import Decimal
from json.encoder import encode_basestring as _json_str  # exactly what json.dumps(ensure_ascii=False) uses

SCALE = Decimal("0.001")

_sha256 = hashlib.sha256


def reference_canonical(entry: dict, lines: list[tuple]) -> bytes:
    """The definition of the canonical form (slow; tests compare `canonical` against it)."""
    payload = [
        entry["seq"], entry["organization_id"], entry["effective_date"], entry["memo"],
        entry["source_type"], entry["source_id"], entry["idempotency_key"], entry["reverses_id"],
        [[no, account, customer, currency, str(Decimal(amount).quantize(SCALE))]
         for no, account, customer, currency, amount in sorted(lines)],
    ]
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
    return f"{head}{','.join([line_text(*line) for line in sorted(lines)])}]]"


def canonical(entry: dict, lines: list[tuple]) -> bytes:
    """entry: seq, organization_id, effective_date (ISO string), memo, source_type, source_id,
    idempotency_key, reverses_id. lines: (line_no, account_id, customer_id, currency, amount)."""
    head = head_text(entry["seq"], entry["organization_id"], entry["effective_date"], entry["memo"],
                     entry["source_type"], entry["source_id"], entry["idempotency_key"], entry["reverses_id"])
    body = ",".join([line_text(*line) for line in sorted(lines)])
    return f"{head}{body}]]".encode()


def chain_hash(prev_hash: str, entry: dict, lines: list[tuple]) -> str:
    return _sha256(prev_hash.encode() + canonical(entry, lines)).hexdigest()

