"""The full check hashes in the database, chunk by chunk, the chunks alternating between two
connections in one snapshot; Python joins them at the seams (issue 23 item 4). Six entries in
chunks of two: three chunks, the middle one on the second connection."""

import pytest

from accounts import ledger_verify
from accounts.ledger_verify import verify_organization
from ledger_site.tenancy import tenant_context
from tests.ledger.test_tamper import ledger_of_six as six_fixture
from tests.ledger.test_tamper import triggers_off

pytestmark = pytest.mark.django_db(transaction=True)
ledger_of_six = six_fixture


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(ledger_verify, "CHUNK", 2)
    monkeypatch.setattr(ledger_verify, "SIDE_CONNECTION_FROM", 0)


def check(org):
    with tenant_context(org):
        return verify_organization(org)


def test_a_clean_journal_in_three_chunks_on_two_connections(ledger_of_six, small_chunks):
    org, _, _ = ledger_of_six
    result = check(org)
    assert result.ok, result.problems
    assert (result.entries, result.lines, result.to_seq) == (6, 12, 6)


@pytest.mark.parametrize("tamper, expected", [
    # Inside the second chunk (on the second connection) and at its seams with the first and third.
    ("UPDATE accounts_journalentry SET memo = 'changed' WHERE seq = 4",
     ["entry #4: hash does not match its contents (altered after posting)"]),
    ("UPDATE accounts_journalentry SET prev_hash = repeat('b', 64) WHERE seq = 3",
     ["entry #3: does not link to the previous entry's hash",
      "entry #3: hash does not match its contents (altered after posting)"]),
    ("UPDATE accounts_journalentry SET hash = repeat('c', 64) WHERE seq = 4",
     ["entry #4: hash does not match its contents (altered after posting)",
      "entry #5: does not link to the previous entry's hash"]),
    ("UPDATE accounts_journalline SET amount = amount + 1 WHERE line_no = 1 AND entry_id = "
     "(SELECT id FROM accounts_journalentry WHERE seq = 3)",
     ["entry #3: hash does not match its contents (altered after posting)",
      "entry #3: does not balance to zero per currency"]),
])
def test_a_change_in_any_chunk_or_at_a_seam_is_named(ledger_of_six, small_chunks, owner_sql, tamper, expected):
    org, _, _ = ledger_of_six
    with triggers_off(owner_sql, "accounts_journalentry", "accounts_journalline"):
        owner_sql.execute(tamper.replace("WHERE seq", f"WHERE organization_id = {org.pk} AND seq"))
    problems = check(org).problems
    assert all(e in problems for e in expected), problems
