"""The one claim-lease-backoff engine (ledger_site/outbox.py): its retry rule over all attempts, and
that every outbox is built on it (issue 12 item 3: one retry loop, no copies)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from invoicing import mail
from ledger_site.outbox import Outbox, retry_or_fail
from reminders import models as reminder_models
from reminders import webhooks

ROOT = Path(__file__).resolve().parent.parent
BOXES = [reminder_models.OUTBOX, reminder_models.BATCH_OUTBOX, webhooks.BOX, mail.BOX]
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)


@given(box=st.sampled_from(BOXES), attempts=st.integers(min_value=1, max_value=40))
def test_a_failed_attempt_is_retried_after_the_schedules_delay_until_the_last_one_fails(box, attempts):
    row = SimpleNamespace(attempts=attempts, status="sending", lease_until=NOW, next_attempt_at=NOW, last_error="")
    state = retry_or_fail(box, row, NOW, "refused")
    assert row.lease_until is None and row.last_error == "refused"
    if attempts >= box.max_attempts:
        assert state == row.status == box.failed
    else:
        assert state == row.status == box.retry_state
        assert row.next_attempt_at == NOW + box.backoff[attempts - 1]


@given(attempts=st.integers(min_value=1, max_value=40), own=st.integers(min_value=1, max_value=40))
def test_a_row_with_its_own_max_attempts_is_failed_at_that_number(attempts, own):
    row = SimpleNamespace(attempts=attempts, status="sending", lease_until=NOW, next_attempt_at=None, last_error="")
    assert (retry_or_fail(mail.BOX, row, NOW, "x", max_attempts=own) == "failed") == (attempts >= own)


@given(st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=8), st.integers(1, 50))
def test_the_backoff_never_shrinks_and_its_last_step_repeats(minutes, attempts):
    box = Outbox(table="t", lease=timedelta(seconds=20), backoff=tuple(timedelta(minutes=m) for m in sorted(minutes)))
    delay = box.backoff_after(attempts)
    assert delay in box.backoff and box.backoff_after(attempts + 1) >= delay
    assert box.max_attempts == len(minutes) + 1


def test_no_outbox_keeps_its_own_claim_query():
    """The claim UPDATE … SKIP LOCKED is written once, in the engine."""
    writers = [p.relative_to(ROOT).as_posix() for app in ("accounts", "invoicing", "payments", "reminders", "reports",
                                                          "ledger_site")
               for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts
               and "SKIP LOCKED" in p.read_text() and "claim_token" in p.read_text()]
    assert writers == ["ledger_site/outbox.py"]
