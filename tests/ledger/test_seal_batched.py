"""The batched seal check (issue 13): the chain in seal-number ranges hashed by the server, every
kind's documents in one query per range, the never-sealed scan in one query. Faster must not
mean blinder: one altered byte anywhere in the chain, and a seal that says one byte else than its
document for every kind, is still named, by the full check (ranges over two connections) and by a
check from the seal just before it (the incremental check's path)."""

import hashlib
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from accounts import ledger_verify, ledger_verify_seals, period
from accounts.ledger_verify import VerifyResult, verify_organization
from accounts.ledger_verify_seals import verify_seals_and_subledger
from accounts.models import Account
from accounts.seals import GENESIS, chain_text, load_kinds
from invoicing.credit_notes import credit_amount
from invoicing.models import StoredDocument
from invoicing.services import write_off
from ledger_site.tenancy import tenant_context
from payments.services import refund_payment
from reminders import attachments, disputes
from reminders.late_fees import charge_late_fee
from tests.invoicing_helpers import issued
from tests.ledger.test_seal_kinds_sent import sent  # noqa: F401 (the fixture, extended below)
from tests.ledger.test_tamper import triggers_off
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def every_kind(sent):  # noqa: F811
    """Committed: a row of every registered seal kind in one organization."""
    org, owner, d = sent
    acme = d["invoice"].customer
    today = org.today()
    with tenant_context(org, owner):
        period.close_period(org, today - timedelta(days=400), actor=owner)
        design = issued(org, acme, lines=(("Design", "1", "50.00", "20"),))  # 60.00
        credit_amount(acme, D("12.00"), "Late delivery", invoice=design)
        write_off(design, D("5.00"), "Goodwill")
        spare = pay(org, acme, "50.00", allocation="none")
        bank = Account.objects.get(organization=org, system_key="bank")
        refund_payment(spare, amount=D("10.00"), refund_date=today, method="bank_transfer", account=bank,
                       idempotency_key=uuid.uuid4().hex)
        pay(org, acme, "20.00", allocation={design.pk: D("20.00")})
        StoredDocument.objects.create(organization=org, kind="invoice", invoice=design, customer=acme, state_key="k1",
                                      filename=f"{design.number}.pdf", content=b"%PDF-1.7 sealed", sha256="x",
                                      size=15)
        overdue = issued(org, acme, lines=(("Consulting", "2", "100.00", "20"),),
                         issue_date=today - timedelta(days=50), due_date=today - timedelta(days=20))
        charge_late_fee(overdue, 14, D("25.00"), today)
        dispute = disputes.raise_dispute(overdue, reason="quality", amount=D("10.00"), actor=owner)
        attachments.store(dispute, attachments.check([SimpleUploadedFile("note.pdf", b"%PDF-1.7 evidence")]),
                          actor=owner)
    with tenant_context(org), connection.cursor() as c:
        c.execute("SELECT DISTINCT kind FROM accounts_sealrecord WHERE organization_id = %s", [org.pk])
        present = {row[0] for row in c.fetchall()}
    assert present == set(load_kinds()), set(load_kinds()) ^ present  # a new kind needs a row here
    return org


@pytest.fixture
def small_ranges(monkeypatch):
    """Ranges of three seals and of two entries, alternating between two connections: every seam
    between ranges is crossed."""
    monkeypatch.setattr(ledger_verify_seals, "SEAL_CHUNK", 3)
    monkeypatch.setattr(ledger_verify, "CHUNK", 2)
    monkeypatch.setattr(ledger_verify, "SIDE_CONNECTION_FROM", 0)


def seals(owner_sql, org):
    return owner_sql.execute(
        "SELECT seq, kind, object_id, entry_hash, content_hash, label, prev_hash, hash FROM accounts_sealrecord "
        "WHERE organization_id = %s ORDER BY seq", [org.pk]).fetchall()


def flip(text: str) -> str:
    """The same text with its last character changed (one byte: hex digits and labels end in ASCII)."""
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def rechain(owner_sql, org, rows):
    """Re-hash the chain from `rows` on, as someone with the keys would after changing a seal:
    every link and hash consistent again, the head moved along."""
    prev = rows[0][6]
    for seq, kind, object_id, entry_hash, content_hash, label, _prev, _hash in rows:
        digest = hashlib.sha256(chain_text(prev, seq, kind, object_id, entry_hash, content_hash, label)
                                .encode()).hexdigest()
        owner_sql.execute("UPDATE accounts_sealrecord SET prev_hash = %s, hash = %s WHERE organization_id = %s "
                          "AND seq = %s", [prev, digest, org.pk, seq])
        prev = digest
    owner_sql.execute("UPDATE accounts_ledgerhead SET seal_hash = %s WHERE organization_id = %s", [prev, org.pk])


def full(org):
    with tenant_context(org):
        return verify_organization(org).problems


def from_seal_before(org, seq):
    """The check from the seal before `seq` (the incremental check's start), in one snapshot."""
    with tenant_context(org), transaction.atomic(), connection.cursor() as c:
        c.execute("SELECT hash FROM accounts_sealrecord WHERE organization_id = %s AND seq = %s", [org.pk, seq - 1])
        row = c.fetchone()
        since = (seq - 1, row[0]) if row else (0, GENESIS)
        result = VerifyResult(organization=org.slug)
        verify_seals_and_subledger(connection.connection, org.pk, result, since=since)
        return result.problems


def test_every_kind_is_sealed_and_the_batched_check_passes(every_kind, small_ranges):
    org = every_kind
    with tenant_context(org):
        result = verify_organization(org)
    assert result.ok, result.problems
    with tenant_context(org), connection.cursor() as c:
        c.execute("SELECT count(*) FROM accounts_sealrecord WHERE organization_id = %s", [org.pk])
        assert result.seals == result.documents == c.fetchone()[0]


def test_a_seal_one_byte_off_its_document_is_named_for_every_kind(every_kind, owner_sql, small_ranges):
    """For each kind: its first seal's content hash changed by one byte and the whole chain re-hashed
    after it (so the chain itself is consistent): only the document comparison can see it."""
    org = every_kind
    rows = seals(owner_sql, org)
    first_of_kind = {}
    for i, row in enumerate(rows):
        first_of_kind.setdefault(row[1], i)
    assert set(first_of_kind) == set(load_kinds())
    for kind, i in first_of_kind.items():
        seq, label, content_hash = rows[i][0], rows[i][5], rows[i][4]
        changed = [*rows[i][:4], flip(content_hash), *rows[i][5:]]
        with triggers_off(owner_sql, "accounts_sealrecord", "accounts_ledgerhead"):
            owner_sql.execute("UPDATE accounts_sealrecord SET content_hash = %s WHERE organization_id = %s "
                              "AND seq = %s", [changed[4], org.pk, seq])
            rechain(owner_sql, org, [changed, *rows[i + 1:]])
        try:
            expected = f"{label}"
            for found in (full(org), from_seal_before(org, seq)):
                named = [p for p in found if p.startswith(expected) and f"hash sealed in seal #{seq}" in p]
                assert named, (kind, found)
        finally:
            with triggers_off(owner_sql, "accounts_sealrecord", "accounts_ledgerhead"):
                owner_sql.execute("UPDATE accounts_sealrecord SET content_hash = %s WHERE organization_id = %s "
                                  "AND seq = %s", [content_hash, org.pk, seq])
                rechain(owner_sql, org, rows[i:])
        assert full(org) == [], kind  # put back exactly


@pytest.mark.parametrize("column", ["content_hash", "label", "hash"])
def test_one_altered_byte_anywhere_in_the_chain_is_named(every_kind, owner_sql, small_ranges, column):
    """Each seal record in turn, one byte of `column` changed (no re-hashing): the full check over
    ranges of three names that seal, at the start, middle and end of a range alike."""
    org = every_kind
    index = {"content_hash": 4, "label": 5, "hash": 7}[column]
    for row in seals(owner_sql, org):
        seq, value = row[0], row[index]
        with triggers_off(owner_sql, "accounts_sealrecord"):
            owner_sql.execute(f"UPDATE accounts_sealrecord SET {column} = %s WHERE organization_id = %s AND seq = %s",
                              [flip(value), org.pk, seq])
        try:
            found = full(org)
            assert any(p.startswith(f"seal #{seq}") or f"seal #{seq} " in p or f"seal #{seq + 1}:" in p
                       or "chain's head" in p for p in found), (seq, found)
            assert from_seal_before(org, seq), seq
        finally:
            with triggers_off(owner_sql, "accounts_sealrecord"):
                owner_sql.execute(f"UPDATE accounts_sealrecord SET {column} = %s WHERE organization_id = %s "
                                  f"AND seq = %s", [value, org.pk, seq])
    assert full(org) == []


def test_the_incremental_scan_for_unsealed_rows_starts_after_the_newest_sealed_row(every_kind, owner_sql):
    """An allocation written past the triggers after the verified seal is named by the check from there;
    the scan reads only ids above each kind's newest sealed row, so it costs what is new."""
    org = every_kind
    with tenant_context(org), connection.cursor() as c:
        c.execute("SELECT max(seq) FROM accounts_sealrecord WHERE organization_id = %s", [org.pk])
        last = c.fetchone()[0]
    owner_sql.execute("SET session_replication_role = replica")
    try:
        owner_sql.execute("""INSERT INTO payments_allocation (organization_id, invoice_id, payment_id, amount, reason,
                             effective_date, created_at)
                             SELECT organization_id, invoice_id, payment_id, 1, '', now(), now()
                             FROM payments_allocation WHERE organization_id = %s AND payment_id IS NOT NULL
                             ORDER BY id LIMIT 1""", [org.pk])
    finally:
        owner_sql.execute("SET session_replication_role = DEFAULT")
    problems = from_seal_before(org, last + 1)
    assert any(p.startswith("allocation #") and "the allocation was never sealed" in p for p in problems), problems
