"""The verification history, the owners' banner and the incremental check (issue 13, items 4-5).

Against real PostgreSQL; tampering is done as the superuser with the triggers off
(tests/ledger/test_tamper.py), as an attacker with the database's keys would."""

from decimal import Decimal

import pytest
from django.db import ProgrammingError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.ledger_verify import verify_organization
from accounts.ledger_verify_incremental import verify_since_last
from accounts.management.commands.verify_ledger import record_verification
from accounts.models import LedgerHead, Role, VerificationRun
from accounts.org_directory import organization_for_slug
from accounts.tasks import verify_all, verify_recent
from ledger_site.tenancy import tenant_context
from tests.factories import PASSWORD, CustomerFactory, add_member, make_org
from tests.ledger.test_tamper import triggers_off
from tests.ledger_helpers import receipt, sale
from tests.smtp import smtp_server_fixture

smtp_server = pytest.fixture(smtp_server_fixture)

# The worker's side of the queue (django-q2's tables): only the worker's role may read them.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("as_worker_role")]


@pytest.fixture
def verify_org():
    org, owner = make_org(name="Verify Ltd")
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org, name="Acme Ltd")
        for i in range(5):
            sale(org, acme, f"{100 + i}.00")
        receipt(org, acme, "50.00")
    return org, owner, acme


def head(org):
    with tenant_context(org):
        return LedgerHead.objects.get(organization=org)


def runs(org):
    with tenant_context(org):
        return list(VerificationRun.objects.filter(organization=org).order_by("pk"))


def entry_id(org, seq):
    with tenant_context(org), connection.cursor() as c:
        c.execute("SELECT id FROM accounts_journalentry WHERE seq = %s", [seq])
        return c.fetchone()[0]


# --- History ----------------------------------------------------------------------------------

def test_every_check_is_recorded_with_its_range_result_and_duration(verify_org):
    org, owner, acme = verify_org
    verify_all()
    with tenant_context(org):
        sale(org, acme, "7.00")
        sale(org, acme, "8.00")
    verify_recent()
    verify_recent()
    full, incremental, nothing_new = runs(org)
    assert (full.kind, full.trigger, full.from_seq, full.to_seq, full.entries, full.ok) == (
        "full", "schedule", 1, 6, 6, True)
    assert (incremental.kind, incremental.from_seq, incremental.to_seq, incremental.entries) == (
        "incremental", 7, 8, 2)
    assert (nothing_new.from_seq, nothing_new.to_seq, nothing_new.entries, nothing_new.ok) == (9, 8, 0, True)
    assert all(r.duration_ms >= 0 and r.problems == [] for r in (full, incremental, nothing_new))
    h = head(org)
    assert (h.verified_seq, h.verified_ok) == (8, True)


def test_the_history_is_append_only_and_private_to_the_organization(verify_org):
    org, owner, acme = verify_org
    verify_all()
    other, _ = make_org(name="Other Ltd")
    with tenant_context(other), connection.cursor() as c:  # the application role, as every request
        c.execute("SELECT count(*) FROM accounts_verificationrun")
        assert c.fetchone()[0] == 0
    with tenant_context(org), connection.cursor() as c:
        c.execute("SELECT count(*) FROM accounts_verificationrun")
        assert c.fetchone()[0] == 1
        for statement in ("UPDATE accounts_verificationrun SET ok = false", "DELETE FROM accounts_verificationrun"):
            with pytest.raises(ProgrammingError, match="permission denied"):
                c.execute(statement)


def test_the_history_page_is_for_owners_and_lists_problems(verify_org, client, owner_sql):
    org, owner, acme = verify_org
    finance = add_member(org, Role.FINANCE)
    client.login(email=owner.email, password=PASSWORD)
    response = client.post(reverse("ledger_verify", args=[org.slug]),
                           {"next": reverse("verification_history", args=[org.slug])})
    assert response.status_code == 302
    assert [(r.kind, r.trigger, r.ok) for r in runs(org)] == [("full", "manual", True)]
    with triggers_off(owner_sql, "accounts_journalentry"):
        owner_sql.execute("UPDATE accounts_journalentry SET memo = 'changed' WHERE id = %s", [entry_id(org, 3)])
    verify_all()
    page = client.get(reverse("verification_history", args=[org.slug])).content.decode()
    assert "entry #3: hash does not match its contents" in page and "first bad: entry #3" in page
    assert "#1–#6" in page and "Owner, from the ledger page" in page
    client.logout()
    client.login(email=finance.email, password=PASSWORD)
    assert client.get(reverse("verification_history", args=[org.slug])).status_code in (403, 404)


# --- The banner ---------------------------------------------------------------------------------

def test_the_banner_shows_owners_a_break_until_a_clean_check_and_costs_no_query(verify_org, client, owner_sql):
    org, owner, acme = verify_org
    finance = add_member(org, Role.FINANCE)
    dashboard = reverse("dashboard", args=[org.slug])
    client.login(email=owner.email, password=PASSWORD)
    verify_all()
    with CaptureQueriesContext(connection) as clean:
        assert "ledger-alert" not in client.get(dashboard).content.decode()
    with triggers_off(owner_sql, "accounts_customerbalance"):
        owner_sql.execute("UPDATE accounts_customerbalance SET amount = amount + 1 WHERE customer_id = %s", [acme.pk])
    verify_all()
    with CaptureQueriesContext(connection) as broken:
        body = client.get(dashboard).content.decode()
    assert "The ledger check found a break." in body
    assert reverse("verification_history", args=[org.slug]) in body
    assert len(broken) == len(clean), "the banner must not cost a query"
    # On every page of the organization, for owners only.
    assert "ledger-alert" in client.get(reverse("customer_list", args=[org.slug])).content.decode()
    client.logout()
    client.login(email=finance.email, password=PASSWORD)
    assert "ledger-alert" not in client.get(dashboard).content.decode()
    # Repaired: the next clean check takes the banner away.
    with triggers_off(owner_sql, "accounts_customerbalance"):
        owner_sql.execute("UPDATE accounts_customerbalance SET amount = amount - 1 WHERE customer_id = %s", [acme.pk])
    verify_all()
    assert organization_for_slug(org.slug).ledger_check_failed_at is None


# --- The incremental check ------------------------------------------------------------------------

@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(batches=st.lists(st.lists(st.integers(1, 99_999), min_size=0, max_size=12), min_size=1, max_size=4))
def test_after_many_postings_the_incremental_check_agrees_with_the_full_one(batches):
    org, owner = make_org()
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org) for _ in range(3)]
    posted = 0
    for batch in batches:
        with tenant_context(org, owner):
            for i, cents in enumerate(batch):
                customer = customers[(posted + i) % 3]
                (sale if cents % 3 else receipt)(org, customer, Decimal(cents).scaleb(-2))
        posted += len(batch)
        with tenant_context(org):
            incremental, full = verify_since_last(org), verify_organization(org)
            assert incremental.ok and full.ok, (incremental.problems, full.problems)
            assert (incremental.to_seq, incremental.to_hash, incremental.to_seal_seq) == (
                full.to_seq, full.to_hash, full.to_seal_seq) == (posted, full.to_hash, full.to_seal_seq)
            record_verification(org, incremental, kind="incremental")
    assert head(org).verified_seq == posted


def test_a_check_posting_700_entries_agrees_and_reads_only_the_new_ones(verify_org):
    org, owner, acme = verify_org
    with tenant_context(org):
        record_verification(org, verify_organization(org))
        for i in range(700):
            sale(org, acme, f"{i % 50 + 1}.25")
        incremental, full = verify_since_last(org), verify_organization(org)
    assert incremental.ok and full.ok
    assert (incremental.from_seq, incremental.entries, full.entries) == (7, 700, 706)
    assert incremental.to_hash == full.to_hash


@pytest.mark.parametrize("tamper, expected", [
    ("UPDATE accounts_journalentry SET memo = 'changed' WHERE seq = 8", "entry #8: hash does not match"),
    ("UPDATE accounts_journalline SET amount = amount + 1 WHERE entry_id = (SELECT id FROM accounts_journalentry "
     "WHERE seq = 7) AND line_no = 1", "entry #7: hash does not match"),
    ("UPDATE accounts_journalentry SET memo = 'changed' WHERE seq = 6", "entry #6: hash does not match"),
    ("UPDATE accounts_journalentry SET hash = repeat('a', 64) WHERE seq = 6", "entry #6: no longer has the hash"),
    ("UPDATE accounts_customerbalance SET amount = amount + 1", "maintained balance"),
    ("UPDATE accounts_accountdaytotal SET amount = amount + 1 WHERE account_id = (SELECT account_id FROM "
     "accounts_journalline WHERE entry_id = (SELECT id FROM accounts_journalentry WHERE seq = 8) AND line_no = 2)",
     "day total differs"),
    ("UPDATE accounts_ledgerhead SET last_seq = 7", "ledger head says #7"),
])
def test_the_incremental_check_finds_a_break_after_or_at_the_verified_point(verify_org, owner_sql, tamper, expected):
    org, owner, acme = verify_org
    with tenant_context(org):
        record_verification(org, verify_organization(org))
        sale(org, acme, "11.00")
        sale(org, acme, "12.00")
    assert head(org).verified_seq == 6
    tables = ("accounts_journalentry", "accounts_journalline", "accounts_customerbalance",
              "accounts_accountdaytotal", "accounts_ledgerhead")
    with triggers_off(owner_sql, *tables):
        owner_sql.execute(tamper.replace("WHERE seq", f"WHERE organization_id = {org.pk} AND seq")
                          if "ledgerhead" not in tamper else tamper + f" WHERE organization_id = {org.pk}")
    with tenant_context(org):
        result = verify_since_last(org)
    assert not result.ok and any(expected in p for p in result.problems), result.problems


def test_an_older_change_waits_for_the_nightly_full_check(verify_org, owner_sql):
    """What the incremental check does not read (an entry before the verified point, other than
    the one at it) the full check finds: the documented limit."""
    org, owner, acme = verify_org
    with tenant_context(org):
        record_verification(org, verify_organization(org))
    with triggers_off(owner_sql, "accounts_journalentry"):
        owner_sql.execute("UPDATE accounts_journalentry SET memo = 'x' WHERE organization_id = %s AND seq = 2",
                          [org.pk])
    with tenant_context(org):
        assert verify_since_last(org).ok
        assert "entry #2: hash does not match its contents (altered after posting)" in verify_organization(org).problems


def test_a_failed_check_does_not_move_the_verified_point(verify_org, owner_sql):
    org, owner, acme = verify_org
    verify_all()
    with tenant_context(org):
        sale(org, acme, "11.00")
    with triggers_off(owner_sql, "accounts_journalentry"):
        owner_sql.execute("UPDATE accounts_journalentry SET memo = 'x' WHERE organization_id = %s AND seq = 7",
                          [org.pk])
    verify_recent()
    verify_recent()
    h = head(org)
    assert (h.verified_seq, h.verified_ok) == (6, False)
    assert [r.ok for r in runs(org)] == [True, False, False]


def test_the_schedule_runs_the_incremental_check_every_five_minutes():
    """The data migrations' schedules (a transactional test's flush empties the table: made again)."""
    from importlib import import_module

    from django.apps import apps
    from django_q.models import Schedule

    for name in ("0011_verify_schedule", "0014_verify_recent_schedule"):
        import_module(f"accounts.migrations.{name}").create_schedule(apps, None)
    recent = Schedule.objects.get(name="accounts: verify recent postings")
    nightly = Schedule.objects.get(name="accounts: verify ledgers")
    assert (recent.func, recent.schedule_type, recent.minutes, recent.repeats) == (
        "accounts.tasks.verify_recent", "I", 5, -1)
    assert (nightly.func, nightly.schedule_type) == ("accounts.tasks.verify_all", "D")


def test_a_break_found_by_the_incremental_schedule_is_mailed_once(verify_org, owner_sql, smtp_server):
    org, owner, acme = verify_org
    verify_all()
    with tenant_context(org):
        sale(org, acme, "11.00")
    with triggers_off(owner_sql, "accounts_journalline"):
        owner_sql.execute("UPDATE accounts_journalline SET amount = amount * 2 WHERE organization_id = %s AND "
                          "entry_id = (SELECT max(id) FROM accounts_journalentry WHERE organization_id = %s)",
                          [org.pk, org.pk])
    found = verify_recent()
    assert (found["broken"], found["mailed"]) == (1, 1)
    assert verify_recent()["mailed"] == 0 and verify_all()["mailed"] == 0  # known: not mailed again
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == owner.email and "entry #7" in message.get_content()
    assert organization_for_slug(org.slug).ledger_check_failed_at is not None
