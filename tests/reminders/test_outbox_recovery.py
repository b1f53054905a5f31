"""Worker recovery and the outbox's guards (issue 22, #11): database-time leases renewed per
message, a recovery schedule every minute, and FOR UPDATE SKIP LOCKED (fails when removed)."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import OperationalError, connection
from django_q.models import Schedule

from ledger_site.tenancy import tenant_context
from reminders import outbox, tasks
from reminders.models import OutboxStatus, ReminderMessage
from reminders.outbox import LEASE, claim, deliver
from reminders.scheduler import scan
from tests.reminders.helpers import TODAY, at, invoice_due, org_with_customer

NO_QUEUE = lambda org_id, n: None  # noqa: E731


def db_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def two_rows():
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoice_due(org, customer, due)
    invoice_due(org, customer, due)
    now = at(due)
    scan(now=now, org_ids=[org.pk], enqueue=NO_QUEUE)
    with tenant_context(org):
        ids = sorted(ReminderMessage.objects.filter(organization=org, status=OutboxStatus.PENDING,
                                                    next_attempt_at__lte=now).values_list("pk", flat=True))
    assert len(ids) >= 2  # two invoices, each with the steps due by now
    return org, now, ids


def test_recovery_is_configured_within_a_minute():
    assert timedelta(seconds=30) >= LEASE
    assert LEASE.total_seconds() > settings.EMAIL_TIMEOUT


@pytest.mark.django_db
def test_the_recovery_schedule_runs_every_minute(owner_sql):
    # The schedule is the worker's table: read as the owner (the application role cannot).
    schedule = owner_sql.execute("SELECT schedule_type, minutes, repeats FROM django_q_schedule"
                                 " WHERE func = 'reminders.tasks.recover_outbox'").fetchone()
    assert schedule == (Schedule.MINUTES, 1, -1)


@pytest.mark.django_db
def test_leases_are_in_database_time_and_renewed_before_each_send(monkeypatch):
    org, now, ids = two_rows()
    with tenant_context(org):
        claimed = claim(org.pk, now - timedelta(days=1))  # a worker whose clock is a day behind
        assert claimed == []  # (nothing is due on its day)
        claimed = claim(org.pk, now)
        before = db_now()
        leases = list(ReminderMessage.objects.filter(pk__in=ids).values_list("lease_until", flat=True))
    assert all(before < lease <= before + LEASE for lease in leases)
    seen = []
    real_prepare = outbox._prepare

    def watch(row_id, token, when):
        result = real_prepare(row_id, token, when)
        seen.append((ReminderMessage.objects.get(pk=row_id).lease_until, db_now()))
        return result

    monkeypatch.setattr(outbox, "_prepare", watch)
    with tenant_context(org):
        time.sleep(0.2)
        for row_id, token in claimed:
            outbox.send_one(row_id, token, now=now)
    assert len(seen) == len(ids) and all(lease > at_ + LEASE - timedelta(seconds=1) for lease, at_ in seen)
    assert all(lease > min(leases) for lease, _ in seen)  # renewed, not the claim's lease
    assert len(mail.outbox) == len(ids)


@pytest.mark.django_db
def test_a_dead_senders_rows_are_recovered_by_the_minute_task(monkeypatch):
    org, now, ids = two_rows()
    with tenant_context(org):
        assert len(claim(org.pk, now)) == len(ids)  # ...and the worker dies
    queued = []
    monkeypatch.setattr(tasks, "enqueue_delivery", lambda org_id, count=0: queued.append(org_id))
    assert tasks.recover_outbox() == {"organizations": []}  # leases still live: nothing to do
    with tenant_context(org), connection.cursor() as cursor:
        # Only the claimed rows: sent ones are frozen (accounts.frozen).
        cursor.execute("UPDATE reminders_remindermessage SET lease_until = clock_timestamp() - interval '1 second' "
                       "WHERE id = ANY(%s)", [list(ids)])
    assert tasks.recover_outbox() == {"organizations": [org.pk]} and queued == [org.pk]
    assert deliver(org.pk, now=now).sent == len(ids)
    assert len(mail.outbox) == len(ids)
    with tenant_context(org):
        assert set(ReminderMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {OutboxStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_claiming_skips_rows_another_sender_holds_instead_of_waiting(owner_sql):
    """Fails when FOR UPDATE SKIP LOCKED is removed from the claim: it then waits for the lock."""
    org, now, ids = two_rows()
    try:
        with owner_sql.transaction():
            owner_sql.execute("SELECT id FROM reminders_remindermessage WHERE id = %s FOR UPDATE", [ids[0]])
            with tenant_context(org):
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '3s'")
                try:
                    claimed = claim(org.pk, now)
                except OperationalError as e:  # lock timeout: the claim waited on the held row
                    pytest.fail(f"the claim waited for a locked row: {e}")
            assert sorted(row_id for row_id, _ in claimed) == ids[1:]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
