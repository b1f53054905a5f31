"""Period-lock events are sealed (accounts.seals.PERIOD_LOCK, issue 13): closing, reopening and
moving the books start each get a seal in the organization's chain, written by the database; a
superuser who switches the triggers off and changes who did it, when, the dates or the reason,
deletes an event or writes one past the triggers is named by verify_ledger, the full check and the
incremental one."""

from datetime import timedelta

import pytest
from django.db import connection

from accounts import period
from accounts.ledger_verify import verify_organization
from accounts.ledger_verify_incremental import verify_since_last
from accounts.management.commands.verify_ledger import record_verification
from accounts.models import PeriodLockEvent, Role, SealRecord
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued
from tests.ledger.test_tamper import triggers_off

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def locked():
    """Committed: an invoice, then the books closed, reopened with a reason, closed again and the
    books start set: four events."""
    org, owner = make_org()
    with tenant_context(org, owner):
        issued(org, CustomerFactory(organization=org))
        today = org.today()
        period.close_period(org, today - timedelta(days=60), actor=owner, ip="198.51.100.7")
        period.reopen_period(org, today - timedelta(days=90), actor=owner, reason="Late supplier invoice")
        period.close_period(org, today - timedelta(days=45), actor=owner)
        period.set_books_start(org, today - timedelta(days=3000), actor=owner, reason="History from 2018")
    return org, owner


def problems(org):
    with tenant_context(org):
        return verify_organization(org).problems


def events(org):
    with tenant_context(org):
        return list(PeriodLockEvent.objects.filter(organization=org).order_by("pk"))


def test_each_event_is_sealed_in_the_chain_and_the_books_verify(locked):
    org, _ = locked
    found = events(org)
    assert [e.action for e in found] == ["close", "reopen", "close", "books_start"]
    with tenant_context(org):
        sealed = list(SealRecord.objects.filter(organization=org, kind="period_lock").order_by("seq"))
    assert [s.object_id for s in sealed] == [e.pk for e in found]
    assert all(s.entry_id is None and s.label.startswith("period lock: ") for s in sealed)
    assert sealed[1].label.startswith("period lock: reopen ")
    assert problems(org) == []


@pytest.mark.parametrize("change", [
    "reason = 'No reason'",
    "actor_id = NULL",
    "at = at - interval '1 day'",
    "new_date = new_date - 1",
    "old_date = NULL",
    "ip = '203.0.113.1'",
    "action = 'close'",
])
def test_a_changed_event_is_named(locked, owner_sql, change):
    org, _ = locked
    reopen = events(org)[1]
    with triggers_off(owner_sql, "accounts_periodlockevent"):
        owner_sql.execute(f"UPDATE accounts_periodlockevent SET {change} WHERE id = %s", [reopen.pk])
    found = problems(org)
    assert any(p.startswith("period lock: reopen ") and f"(event #{reopen.pk})" in p
               and "the period-lock event no longer matches the hash sealed in seal #" in p for p in found), found


def test_a_deleted_event_is_named(locked, owner_sql):
    org, _ = locked
    reopen = events(org)[1]
    with triggers_off(owner_sql, "accounts_periodlockevent"):
        owner_sql.execute("DELETE FROM accounts_periodlockevent WHERE id = %s", [reopen.pk])
    found = problems(org)
    assert any(f"(event #{reopen.pk})" in p and "the period-lock event sealed in seal #" in p
               and "has been deleted" in p for p in found), found


def test_an_event_written_past_the_triggers_is_named_unsealed(locked, owner_sql):
    org, owner = locked
    owner_sql.execute("SET session_replication_role = replica")
    try:
        owner_sql.execute("INSERT INTO accounts_periodlockevent (organization_id, at, actor_id, action, old_date, "
                          "new_date, reason) VALUES (%s, now(), %s, 'reopen', current_date - 45, NULL, 'quietly')",
                          [org.pk, owner.pk])
    finally:
        owner_sql.execute("SET session_replication_role = DEFAULT")
    found = problems(org)
    assert any(p.startswith("period lock: reopen ") and "was never sealed" in p for p in found), found


def test_the_incremental_check_names_an_event_changed_after_the_verified_point(locked, owner_sql):
    """Verified clean, then an owner reopens (a new event, sealed after the verified seal); the
    superuser rewrites its reason: the next incremental check names it."""
    org, owner = locked
    with tenant_context(org):
        clean = verify_organization(org)
        assert clean.ok, clean.problems
        record_verification(org, clean, kind="full", trigger="command")
    second = add_member(org, Role.OWNER)
    with tenant_context(org, second):
        event = period.reopen_period(org, None, actor=second, reason="Audit adjustment")
    with tenant_context(org):
        assert verify_since_last(org).ok
    with triggers_off(owner_sql, "accounts_periodlockevent"):
        owner_sql.execute("UPDATE accounts_periodlockevent SET reason = 'Routine' WHERE id = %s", [event.pk])
    with tenant_context(org):
        found = verify_since_last(org).problems
    assert any(f"(event #{event.pk})" in p and "no longer matches the hash sealed" in p for p in found), found


def test_the_application_role_cannot_write_seal_records_itself(locked):
    org, _ = locked
    with tenant_context(org), pytest.raises(Exception, match="permission denied"), connection.cursor() as c:
        c.execute("INSERT INTO accounts_sealrecord (organization_id, seq, kind, object_id, label, content_hash, "
                  "prev_hash, hash, sealed_at) VALUES (%s, 999, 'period_lock', 1, '', '', '', '', now())", [org.pk])
