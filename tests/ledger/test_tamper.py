"""Tamper tests: a superuser goes around the triggers and edits committed journal rows.

`verify_ledger` must notice, exit non-zero and name the entry. The rows are committed (a
transactional test), changed through the superuser connection (`owner_sql`) with the
append-only triggers switched off for one statement, and the triggers switched back on.
"""

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import receipt, sale

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ledger_of_six():
    """Six committed entries over two customers; returns (org, customers, entries by seq)."""
    org, owner = make_org()
    with tenant_context(org, owner):
        a = CustomerFactory(organization=org)
        b = CustomerFactory(organization=org)
        entries = [sale(org, a, "100.00"), sale(org, b, "250.00"), receipt(org, a, "40.00"),
                   sale(org, a, "12.34"), receipt(org, b, "50.00"), sale(org, b, "9.99")]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    return org, (a, b), {e.seq: e for e in entries}


@contextmanager
def triggers_off(owner_sql, *tables):
    for table in tables:
        owner_sql.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        for table in tables:
            owner_sql.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def verify(org):
    """Run the command; return (error message or None, stdout, stderr)."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("verify_ledger", "--org", org.slug, stdout=out, stderr=err)
    except CommandError as e:
        return str(e), out.getvalue(), err.getvalue()
    return None, out.getvalue(), err.getvalue()


def names_entry(text: str, seq: int) -> bool:
    return re.search(rf"entry #{seq}\b", text) is not None


def test_clean_ledger_verifies(ledger_of_six):
    org, _, _ = ledger_of_six
    error, out, _ = verify(org)
    assert error is None
    assert "6 entries" in out and "OK" in out


@pytest.mark.parametrize("change", [
    "UPDATE accounts_journalline SET amount = amount + 1 WHERE entry_id = %s AND line_no = 1",
    # Both lines: the entry still balances and the balances are off; the hash still catches it.
    "UPDATE accounts_journalline SET amount = amount * 2 WHERE entry_id = %s",
    "UPDATE accounts_journalline SET currency = 'USD' WHERE entry_id = %s",
])
def test_changed_line_is_found_and_named(ledger_of_six, owner_sql, change):
    org, _, entries = ledger_of_six
    target = entries[4]
    with triggers_off(owner_sql, "accounts_journalline"):
        assert owner_sql.execute(change, [target.pk]).rowcount >= 1
    # The triggers are back: the application role still cannot change anything.
    error, _out, err = verify(org)
    assert error is not None
    assert names_entry(error, 4), error
    assert "hash does not match" in err
    named = {m for m in re.findall(r"entry #(\d+):", err)}
    assert named == {"4"}, err


def test_changed_memo_is_found_and_named(ledger_of_six, owner_sql):
    org, _, entries = ledger_of_six
    with triggers_off(owner_sql, "accounts_journalentry"):
        owner_sql.execute("UPDATE accounts_journalentry SET memo = 'nothing to see' WHERE id = %s",
                          [entries[2].pk])
    error, _, err = verify(org)
    assert error is not None and names_entry(error, 2), error
    assert "entry #2: hash does not match" in err
    # Only the hash broke: balances were not touched, so nothing else is reported.
    assert len(err.strip().splitlines()) == 1


def test_triggers_are_back_after_tampering(ledger_of_six, owner_sql):
    import psycopg

    _, _, entries = ledger_of_six
    with triggers_off(owner_sql, "accounts_journalline"):
        owner_sql.execute("UPDATE accounts_journalline SET amount = amount WHERE entry_id = %s", [entries[1].pk])
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        owner_sql.execute("UPDATE accounts_journalline SET amount = amount WHERE entry_id = %s", [entries[1].pk])


def test_deleted_middle_entry_shows_as_a_sequence_gap(ledger_of_six, owner_sql):
    org, _, entries = ledger_of_six
    with triggers_off(owner_sql, "accounts_journalline", "accounts_journalentry"):
        owner_sql.execute("DELETE FROM accounts_journalline WHERE entry_id = %s", [entries[3].pk])
        owner_sql.execute("DELETE FROM accounts_journalentry WHERE id = %s", [entries[3].pk])
    error, _, err = verify(org)
    assert error is not None
    assert names_entry(error, 4), error
    assert "entry #4: sequence gap, expected #3" in err
    assert "entry #4: does not link to the previous entry's hash" in err


def test_deleted_last_entry_is_noticed_by_the_head(ledger_of_six, owner_sql):
    org, _, entries = ledger_of_six
    with triggers_off(owner_sql, "accounts_journalline", "accounts_journalentry"):
        owner_sql.execute("DELETE FROM accounts_journalline WHERE entry_id = %s", [entries[6].pk])
        owner_sql.execute("DELETE FROM accounts_journalentry WHERE id = %s", [entries[6].pk])
    error, _, err = verify(org)
    assert error is not None
    assert "ledger head says #6, the journal ends at #5" in err


def test_changed_maintained_customer_balance_is_reported(ledger_of_six, owner_sql):
    org, (a, _b), _ = ledger_of_six
    # Maintained balances carry no append-only trigger; RLS is what keeps the app role honest,
    # the superuser is not stopped. verify_ledger recomputes them from the journal.
    owner_sql.execute("UPDATE accounts_customerbalance SET amount = amount + 0.01 WHERE customer_id = %s", [a.pk])
    error, _, err = verify(org)
    assert error is not None
    assert f"customer {a.pk}: maintained balance 72.350 EUR differs from its journal lines 72.340" in err
    assert f"customer {a.pk}" in error
    assert "AR control" in err


def test_changed_account_day_total_is_reported(ledger_of_six, owner_sql):
    org, _, _ = ledger_of_six
    owner_sql.execute("UPDATE accounts_accountdaytotal SET amount = amount - 5 WHERE id = "
                      "(SELECT min(id) FROM accounts_accountdaytotal WHERE organization_id = %s)", [org.pk])
    error, _, err = verify(org)
    assert error is not None
    assert "day total differs from its journal lines" in err


@pytest.mark.parametrize("in_callers_transaction", [False, True], ids=["own snapshot", "caller's transaction"])
def test_day_totals_are_summed_in_the_snapshot_of_the_check(ledger_of_six, owner_sql, in_callers_transaction,
                                                             monkeypatch):
    """On its own, verify sums the day totals on a second connection that imported its snapshot;
    inside a caller's transaction, in that transaction (which an imported snapshot would not
    see into). Both find the tampered total, and a posting the check cannot see is not half-seen."""
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from accounts import ledger_verify
    from accounts.ledger_verify import verify_organization

    org, (a, _), _ = ledger_of_six
    monkeypatch.setattr(ledger_verify, "SIDE_CONNECTION_FROM", 0)  # a second connection even for six entries
    opened = []
    monkeypatch.setattr(ledger_verify, "_side_connection", spy(ledger_verify._side_connection, opened))
    owner_sql.execute("UPDATE accounts_accountdaytotal SET amount = amount + 1 WHERE id = "
                      "(SELECT min(id) FROM accounts_accountdaytotal WHERE organization_id = %s)", [org.pk])
    with tenant_context(org), (transaction.atomic() if in_callers_transaction else contextmanager(lambda: (yield))()):
        if in_callers_transaction:
            sale(org, a, "5.00")  # uncommitted: the caller's own posting, seen by the whole check
        result = verify_organization(org)
        if in_callers_transaction:
            transaction.set_rollback(True)
    # The tampered row is AR's day total: AR control then disagrees with the customers too, by 1.
    ar_control = "288.330" if in_callers_transaction else "283.330"  # + the uncommitted 5.00, seen
    assert [re.sub(r"account \d+", "account", p) for p in result.problems] == [
        f"account on {timezone.localdate().isoformat()}: day total differs from its journal lines",
        f"AR control {ar_control} EUR differs from the sum of customer balances {Decimal(ar_control) - 1}"]
    assert result.entries == (7 if in_callers_transaction else 6)
    assert len(opened) == (0 if in_callers_transaction else 1)


def spy(fn, calls):
    def wrapper(*args):
        calls.append(args)
        return fn(*args)
    return wrapper


def _subprocess_env() -> dict:
    """Point a child `manage.py` at the test database (as its owner, like DATABASE_URL does)."""
    s = connection.settings_dict
    user, password = s["OWNER_USER"], s["OWNER_PASSWORD"]
    auth = f"{user}:{password}@" if password else f"{user}@"
    host, port = s.get("HOST") or "", s.get("PORT") or ""
    if host.startswith("/"):
        url = f"postgres://{auth}/{s['NAME']}?host={host}" + (f"&port={port}" if port else "")
    else:
        url = f"postgres://{auth}{host}{':' + str(port) if port else ''}/{s['NAME']}"
    env = dict(os.environ, DATABASE_URL=url, APP_DB_USER=s["USER"], APP_DB_PASSWORD=s["PASSWORD"] or "")
    env.pop("LEDGER_DB_AS_OWNER", None)
    return env


def run_command(org):
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "verify_ledger", "--org", org.slug],
                          cwd=ROOT, env=_subprocess_env(), capture_output=True, text=True, timeout=120)


def test_the_real_command_exits_zero_then_non_zero_after_tampering(ledger_of_six, owner_sql):
    org, _, entries = ledger_of_six
    clean = run_command(org)
    assert clean.returncode == 0, clean.stderr
    assert "6 entries" in clean.stdout and "OK" in clean.stdout
    with triggers_off(owner_sql, "accounts_journalline"):
        owner_sql.execute("UPDATE accounts_journalline SET amount = amount - 1 WHERE entry_id = %s AND line_no = 2",
                          [entries[5].pk])
    broken = run_command(org)
    assert broken.returncode != 0
    assert "BROKEN" in broken.stdout
    assert names_entry(broken.stderr, 5), broken.stderr
    assert "first bad: entry #5" in broken.stderr


@pytest.mark.parametrize("change, message", [
    ("UPDATE accounts_journalline SET customer_id = NULL WHERE entry_id = %s AND line_no = 2",  # the AR line
     "a customer must be on receivable lines and only there"),
    ("UPDATE accounts_journalline SET effective_date = effective_date - 1 WHERE entry_id = %s AND line_no = 2",
     "a line's date differs from the entry's"),
    ("UPDATE accounts_journalline SET currency = 'USD' WHERE entry_id = %s AND line_no = 2",
     "does not balance to zero per currency"),
])
def test_each_entry_rule_is_checked_and_names_the_entry(ledger_of_six, owner_sql, change, message):
    org, _, entries = ledger_of_six
    with triggers_off(owner_sql, "accounts_journalline"):
        owner_sql.execute(change, [entries[3].pk])
    error, _, err = verify(org)
    assert error is not None and names_entry(error, 3), error
    assert f"entry #3: {message}" in err
    # A line's date repeats the entry's for indexing and is not part of the hash; the rest is.
    assert ("entry #3: hash does not match" in err) == ("date" not in message)


def test_with_several_broken_entries_the_first_in_sequence_is_named(ledger_of_six, owner_sql):
    org, _, entries = ledger_of_six
    with triggers_off(owner_sql, "accounts_journalentry"):
        owner_sql.execute("UPDATE accounts_journalentry SET memo = 'x' WHERE id = ANY(%s)",
                          [[entries[5].pk, entries[2].pk]])
    error, _, err = verify(org)
    assert error is not None and names_entry(error, 2) and not names_entry(error, 5), error
    assert err.index("entry #2:") < err.index("entry #5:")


def test_entries_whose_ids_are_not_in_sequence_order_are_checked_in_sequence_order(ledger_of_six, owner_sql):
    """verify walks the journal in id order; when ids and sequence numbers disagree it checks the
    chain's order in sequence order instead (here: #2 and #3 swapped, so the links break)."""
    org, _, entries = ledger_of_six
    with triggers_off(owner_sql, "accounts_journalentry"):
        owner_sql.execute("UPDATE accounts_journalentry SET seq = -seq WHERE id = ANY(%s)",
                          [[entries[2].pk, entries[3].pk]])
        owner_sql.execute("UPDATE accounts_journalentry SET seq = CASE seq WHEN -2 THEN 3 ELSE 2 END "
                          "WHERE id = ANY(%s)", [[entries[2].pk, entries[3].pk]])
    error, _, err = verify(org)
    assert error is not None and names_entry(error, 2), error
    assert "sequence gap" not in err
    for seq in (2, 3, 4):
        assert f"entry #{seq}: does not link to the previous entry's hash" in err
    for seq in (2, 3):
        assert f"entry #{seq}: hash does not match" in err
