"""The incremental ledger check: only what was posted and sealed since the last clean check.

The full check (accounts.ledger_verify) reads the whole journal; it runs nightly. This one runs
every few minutes (accounts.tasks.verify_recent) and starts where the last clean check, full or
incremental, ended: the ledger head's verified_seq/verified_hash and verified_seal_seq/
verified_seal_hash (set by verify_ledger's record_verification).

In one REPEATABLE READ snapshot, like the full check:

- the entry at verified_seq still has the hash that check vouched for, and its contents still
  hash to it (a history rewritten up to there is seen here too); every entry after it: sequence
  and link from that hash, its hash recomputed, balance per currency, receivable-line rule, line
  dates (the full check's `_Walk`, started mid-chain);
- the ledger head points at the journal's end;
- derived data touched since: each customer with new lines, its maintained balance against the
  balance the last clean check vouched for (customer balance's verified_amount) plus the new
  lines; each (account, currency, day) with new lines, its day total against the vouched one
  (verified_amount) plus the new lines; AR
  control against the customer balances (two small sums);
- the seal chain from verified_seal_seq, and the documents sealed since re-derived to their
  seals; the never-sealed-row scan and the sub-ledger checks (payments.subledger) over every
  document (aggregates per document); the customers' AR lines outside documents from the figure
  the last clean check vouched for plus the new lines: no journal line older than the verified
  point is read.

Not seen until the nightly full check: a change to an older entry other than the one at the
verified point, or to an older day total or document that nothing touched since.
"""

from decimal import Decimal

from django.db import connection, transaction

from accounts.chart import GENESIS_HASH
from accounts.ledger_verify import (
    _AR_CONTROL_SQL,
    _HEAD_SQL,
    VerifyResult,
    _Stream,
    _Walk,
    report_chain_problems,
    verify_organization,
)
from accounts.ledger_verify_seals import verify_seals_and_subledger
from accounts.models_ledger import Account
from accounts.seals import GENESIS

_START_SQL = """
SELECT verified_seq, verified_hash, verified_seal_seq, verified_seal_hash
FROM accounts_ledgerhead WHERE organization_id = %s
"""
_ENTRY_AT_SQL = "SELECT id, hash, prev_hash FROM accounts_journalentry WHERE organization_id = %s AND seq = %s"
# Customers with new lines: the maintained balance against the one the last clean check vouched
# for plus the new lines (no older line is read again; the full check re-sums them nightly).
_TOUCHED_CUSTOMERS_SQL = """
SELECT t.customer_id, t.currency, coalesce(b.amount, 0), coalesce(b.verified_amount, 0) + t.amount FROM (
    SELECT customer_id, currency, sum(amount) AS amount FROM accounts_journalline
    WHERE organization_id = %(org)s AND entry_id > %(after)s AND customer_id IS NOT NULL
    GROUP BY customer_id, currency
) t
LEFT JOIN accounts_customerbalance b
    ON b.organization_id = %(org)s AND b.customer_id = t.customer_id AND b.currency = t.currency
ORDER BY t.customer_id, t.currency
"""
# Account days with new lines: the maintained day total against the one the last clean check
# vouched for plus the new lines.
_TOUCHED_DAYS_SQL = """
SELECT t.account_id, t.currency, t.day, coalesce(d.amount, 0), coalesce(d.verified_amount, 0) + t.amount FROM (
    SELECT account_id, currency, effective_date AS day, sum(amount) AS amount FROM accounts_journalline
    WHERE organization_id = %(org)s AND entry_id > %(after)s
    GROUP BY account_id, currency, effective_date
) t
LEFT JOIN accounts_accountdaytotal d
    ON d.organization_id = %(org)s AND d.account_id = t.account_id AND d.currency = t.currency AND d.day = t.day
ORDER BY t.account_id, t.currency, t.day
"""


def verify_since_last(org) -> VerifyResult:
    result = VerifyResult(organization=org.slug)
    ar_ids = list(Account.objects.filter(organization=org, system_key="ar").values_list("pk", flat=True))
    fresh_transaction = not connection.in_atomic_block
    connection.ensure_connection()
    with transaction.atomic(), connection.wrap_database_errors:
        pg = connection.connection
        with pg.cursor() as c:
            if fresh_transaction:
                c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            else:  # seal what the caller's transaction wrote, as its commit would
                c.execute("SET CONSTRAINTS ALL IMMEDIATE")
                c.execute("SET CONSTRAINTS ALL DEFERRED")
            start = c.execute(_START_SQL, [org.pk]).fetchone()
        if start is None:
            result.fail("the organization has no ledger head")
            return result
        in_order = _verify_since(pg, org.pk, ar_ids, start, result)
    if not in_order:
        # Entry ids out of sequence order (data loaded some other way): the walk's view of the
        # order means nothing; the full check has the general path.
        return verify_organization(org)
    return result


def _verify_since(pg, org_id, ar_ids, start, result) -> bool:
    verified_seq, verified_hash, seal_seq, seal_hash = start
    result.from_seq = verified_seq + 1
    entry_problems = []
    after_id = 0  # the entry at the verified point: the new ones come after it
    walk_from, walk_start = 0, (0, GENESIS_HASH)  # where the walk starts: that entry itself, re-hashed
    with pg.cursor() as c:
        if verified_seq:
            row = c.execute(_ENTRY_AT_SQL, [org_id, verified_seq]).fetchone()
            if row is None or row[1] != verified_hash:
                result.fail(f"entry #{verified_seq}: no longer has the hash the last check vouched for (the history "
                            f"up to it was changed; run the full check)", verified_seq)
            if row is not None:
                after_id = row[0]
                walk_from, walk_start = row[0] - 1, (verified_seq - 1, row[2])
    with pg.pipeline():
        head = pg.cursor()
        head.execute(_HEAD_SQL, [org_id, org_id])
        stream = _Stream(pg, org_id)
        stream.after = walk_from
        stream.request(walk_from)
        head_seq, head_hash, last_seq, last_hash = head.fetchone()
        walk = _Walk(org_id, frozenset(ar_ids), result, entry_problems, start=walk_start)
        walk.run(stream)
    if after_id:  # the entry at the verified point was walked again, not counted as new
        result.entries -= 1
    if not walk.in_order:
        return False
    result.to_seq, result.to_hash = last_seq or 0, last_hash or GENESIS_HASH
    report_chain_problems(pg, result, walk, entry_problems, (head_seq, head_hash), (last_seq, last_hash))
    if (last_seq or 0) < verified_seq:
        result.fail(f"the journal ends at #{last_seq or 0}, before #{verified_seq} the last check vouched for")
    params = {"org": org_id, "after": after_id}
    with pg.pipeline():  # the three sums in one round trip
        customers, days, ar = pg.cursor(), pg.cursor(), pg.cursor()
        customers.execute(_TOUCHED_CUSTOMERS_SQL, params)
        days.execute(_TOUCHED_DAYS_SQL, params)
        ar.execute(_AR_CONTROL_SQL, [org_id, ar_ids, org_id])
        for customer_id, currency, stored, from_lines in customers.fetchall():
            result.balances[(customer_id, currency)] = stored
            if stored == from_lines:
                continue
            result.fail(f"customer {customer_id}: maintained balance {Decimal(stored)} {currency} differs from its "
                        f"journal lines {Decimal(from_lines)}")
        for account_id, currency, day, stored, from_lines in days.fetchall():
            result.day_totals[(account_id, currency, day)] = stored
            if stored == from_lines:
                continue
            result.fail(f"account {account_id} on {day}: day total differs from its journal lines")
        for currency, ar_control, customers_total in ar.fetchall():
            result.fail(f"AR control {ar_control} {currency} differs from the sum of customer balances "
                        f"{customers_total}")
    verify_seals_and_subledger(pg, org_id, result, since=(seal_seq, seal_hash) if seal_seq else (0, GENESIS),
                               since_entry=after_id)
    return True
