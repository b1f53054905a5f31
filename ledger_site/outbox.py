"""The one claim-lease-backoff engine under every outgoing message (issue 12 item 3).

Three outboxes send things to the outside world: reminders (reminders/outbox.py: one e-mail per
invoice and step, or one per customer and day), webhooks (reminders/webhooks.py: one POST per event
and endpoint) and document e-mails (invoicing/mail.py: an invoice, a statement, a receipt). Each
keeps its own table and what it sends; this module is how a row of any of them goes out:

1. **claim** (`claim`): in one short transaction, `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
   LOCKED)` moves a batch of due rows to *sending*, adds one to `attempts`, sets a fresh
   `claim_token` and a lease `lease_until = clock_timestamp() + lease`. The lease is in database
   time, never a worker's clock. Concurrent senders never claim the same row (SKIP LOCKED), and a
   row locked by someone else (a scan still filling a batch) is passed over, not waited for.
2. **heartbeat** (`heartbeat`): renews the lease from now, right before talking to the outside, so
   a live sender never loses a row it is sending.
3. **send**, outside any transaction (the caller's business).
4. **finish** (`lock_if_ours`, then `retry_or_fail` or the caller's own "sent"): under the row's
   lock and only if the claim token is still ours; a sender whose lease ran out and whose row was
   taken over records nothing.

What differs between the outboxes is data, an `Outbox`: the table, the lease, the backoff schedule
(the delay after attempt 1, 2, …; `max_attempts` = one more than its length unless the row carries
its own `max_attempts`), which states are claimable, whether a claimable row must also be due
(`next_attempt_at <= now`), and whether an expired lease makes a *sending* row claimable again
(`reclaim`: at-least-once, for messages whose retry carries the same Message-ID or event id) or
not (at-most-once: a stuck row waits for a person's retry, for document e-mails).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone


@dataclass(frozen=True)
class Outbox:
    table: str
    lease: timedelta
    backoff: tuple[timedelta, ...]
    ready: tuple[str, ...] = ("pending",)  # states from which a row is claimed
    retry_state: str = "pending"  # where a failed attempt goes back to
    due: bool = True  # a ready row is claimable only once next_attempt_at <= now
    reclaim: bool = True  # a sending row whose lease ran out is claimable again
    join: str = ""  # more FROM (alias of the table: x)
    where: str = ""  # more conditions on x (constants only)
    batch: int = 50
    sending: str = "sending"
    failed: str = "failed"

    @property
    def max_attempts(self) -> int:
        return len(self.backoff) + 1

    def backoff_after(self, attempts: int) -> timedelta:
        """The delay after attempt number `attempts` (1-based); the last one repeats."""
        return self.backoff[min(max(attempts, 1), len(self.backoff)) - 1]

    def _claimable(self, only: str = "") -> str:
        ready = "x.status = ANY(%(ready)s)" + (" AND x.next_attempt_at <= %(now)s" if self.due else "")
        expired = " OR (x.status = %(sending)s AND x.lease_until < clock_timestamp())" if self.reclaim else ""
        return (f"FROM {self.table} x {self.join} WHERE x.organization_id = %(org)s AND (({ready}){expired})"
                f" {self.where} {only}")


def _params(box: Outbox, org_id: int, now: datetime, **more) -> dict:
    return {"org": org_id, "now": now, "ready": list(box.ready), "sending": box.sending, "lease": box.lease, **more}


def claim(box: Outbox, org_id: int, now: datetime, ids=None, limit: int | None = None) -> list[tuple[int, str]]:
    """Claim up to `limit` due rows of the organization (or only those of `ids`): [(id, token)]."""
    token = uuid.uuid4().hex
    only = "AND x.id = ANY(%(ids)s)" if ids is not None else ""
    sql = (f"UPDATE {box.table} t SET status = %(sending)s, attempts = t.attempts + 1, "  # noqa: S608 - constants
           f"lease_until = clock_timestamp() + %(lease)s, claim_token = %(token)s "
           f"WHERE t.id IN (SELECT x.id {box._claimable(only)} "
           f"ORDER BY x.next_attempt_at NULLS FIRST, x.id LIMIT %(limit)s FOR UPDATE OF x SKIP LOCKED) RETURNING t.id")
    params = _params(box, org_id, now, token=token, limit=limit or box.batch, ids=list(ids or []))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], token) for row in cursor.fetchall()]


def has_claimable(box: Outbox, org_id: int, now: datetime) -> bool:
    """Whether a delivery run at `now` would find something to claim."""
    sql = f"SELECT EXISTS (SELECT 1 {box._claimable()})"  # noqa: S608 - constants
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(box, org_id, now))
        return cursor.fetchone()[0]


def has_stale(box: Outbox, org_id: int) -> bool:
    """A row whose sender died: sending, with its lease run out (database time)."""
    sql = (f"SELECT EXISTS (SELECT 1 FROM {box.table} x {box.join} WHERE x.organization_id = %s "  # noqa: S608
           f"AND x.status = %s AND x.lease_until < clock_timestamp() {box.where})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [org_id, box.sending])
        return cursor.fetchone()[0]


def heartbeat(box: Outbox, row_id: int) -> None:
    """Renew a claimed row's lease from now (database time): the send that follows has `box.lease`."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {box.table} SET lease_until = clock_timestamp() + %s WHERE id = %s",  # noqa: S608
                       [box.lease, row_id])


def lock_if_ours(queryset, box: Outbox, row_id: int, token: str):
    """The row, locked (call inside a transaction), if it is still claimed with `token`; else None:
    our lease ran out and another sender took over (it records the outcome)."""
    row = queryset.select_for_update(of=("self",)).get(pk=row_id)
    return row if row.status == box.sending and row.claim_token == token else None


def retry_or_fail(box: Outbox, row, now: datetime, error: str, max_attempts: int | None = None) -> str:
    """After a failed attempt on a row we hold: back to the retry state with `next_attempt_at`
    moved out by the backoff, or failed after the last attempt. Sets the fields; returns the state."""
    row.last_error = error
    row.lease_until = None
    if row.attempts >= (max_attempts or box.max_attempts):
        row.status = box.failed
        if not box.due:
            row.next_attempt_at = None
    else:
        row.status = box.retry_state
        row.next_attempt_at = now + box.backoff_after(row.attempts)
    return row.status


def run(box: Outbox, org_id: int, send: Callable[[int, str, datetime], object], now: datetime | None = None,
        ids=None, max_batches: int | None = None) -> list:
    """Claim batches and `send(row_id, token, clock)` each row until nothing is left (or
    `max_batches`); the caller has entered the organization's tenant context. The outcomes, in order."""
    outcomes, batches = [], 0
    while max_batches is None or batches < max_batches:
        clock = now or timezone.now()
        claimed = claim(box, org_id, clock, ids=ids)
        if not claimed:
            break
        batches += 1
        outcomes.extend(send(row_id, token, clock) for row_id, token in claimed)
    return outcomes
