"""The hash chain: hash = sha256(prev_hash || canonical(entry, lines)).

One canonical form, used when posting and when verifying. It covers everything that gives an
entry its meaning: sequence, dates, source, key, reversal link and every line's account,
customer, currency and amount (normalized to three decimals, the column's scale).
"""

import hashlib
import json
from decimal import Decimal

SCALE = Decimal("0.001")


def canonical(entry: dict, lines: list[tuple]) -> bytes:
    """entry: seq, organization_id, effective_date (ISO string), memo, source_type, source_id,
    idempotency_key, reverses_id. lines: (line_no, account_id, customer_id, currency, amount)."""
    payload = [
        entry["seq"], entry["organization_id"], entry["effective_date"], entry["memo"],
        entry["source_type"], entry["source_id"], entry["idempotency_key"], entry["reverses_id"],
        [[no, account, customer, currency, str(Decimal(amount).quantize(SCALE))]
         for no, account, customer, currency, amount in sorted(lines)],
    ]
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, entry: dict, lines: list[tuple]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(entry, lines)).hexdigest()
