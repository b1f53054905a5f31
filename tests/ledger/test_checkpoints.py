"""Signed checkpoints (accounts.checkpoints): downloaded by owners, and `verify_ledger --against`
proving history up to them unchanged, even when a superuser rewrote and re-chained the whole
journal with the triggers off (which the chain check alone cannot see)."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts.ledger_chain import chain_hash
from accounts.models import Role
from accounts.tasks import verify_all
from ledger_site.tenancy import tenant_context
from tests.factories import PASSWORD, CustomerFactory, add_member, make_org
from tests.ledger.test_tamper import triggers_off, verify
from tests.ledger_helpers import sale

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books(client):
    org, owner = make_org(name="Checkpoint Ltd")
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org)
        for amount in ("10.00", "20.00", "30.00", "40.00"):
            sale(org, acme, amount)
    client.login(email=owner.email, password=PASSWORD)
    return org, owner, acme


def download(client, org):
    response = client.get(reverse("verification_checkpoint", args=[org.slug]))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    return json.loads(response.content)


def against(tmp_path, data, org=None):
    path = tmp_path / "checkpoint.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    args = ["verify_ledger", "--against", str(path)] + (["--org", org.slug] if org else [])
    call_command(*args)


def rewrite_whole_chain(owner_sql, org, seq, memo):
    """Change entry `seq`'s memo and re-hash it and every later entry, then the head: a chain that
    verifies again on its own."""
    with triggers_off(owner_sql, "accounts_journalentry", "accounts_ledgerhead"):
        owner_sql.execute("UPDATE accounts_journalentry SET memo = %s WHERE organization_id = %s AND seq = %s",
                          [memo, org.pk, seq])
        rows = owner_sql.execute(
            "SELECT id, organization_id, seq, effective_date, memo, source_type, source_id, idempotency_key, "
            "reverses_id, hash_version, actor_id, reason, posted_at, prev_hash FROM accounts_journalentry "
            "WHERE organization_id = %s ORDER BY seq", [org.pk]).fetchall()
        prev = None
        for (pk, org_id, s, eff, memo_, stype, sid, key, rev, version, actor, reason, posted, _prev_hash) in rows:
            if s < seq:
                prev = owner_sql.execute("SELECT hash FROM accounts_journalentry WHERE id = %s", [pk]).fetchone()[0]
                continue
            lines = owner_sql.execute("SELECT line_no, account_id, customer_id, currency, amount, base_amount FROM "
                                      "accounts_journalline WHERE entry_id = %s ORDER BY line_no", [pk]).fetchall()
            header = {"seq": s, "organization_id": org_id, "effective_date": eff.isoformat(), "memo": memo_,
                      "source_type": stype, "source_id": sid, "idempotency_key": key, "reverses_id": rev,
                      "version": version, "actor_id": actor, "reason": reason, "posted_at": posted}
            new = chain_hash(prev, header, lines)
            owner_sql.execute("UPDATE accounts_journalentry SET prev_hash = %s, hash = %s WHERE id = %s",
                              [prev, new, pk])
            prev = new
        owner_sql.execute("UPDATE accounts_ledgerhead SET last_hash = %s WHERE organization_id = %s", [prev, org.pk])


def test_an_untouched_history_passes_against_its_checkpoint(books, client, tmp_path):
    org, owner, acme = books
    verify_all()
    checkpoint = download(client, org)
    assert (checkpoint["organization"], checkpoint["seq"]) == (org.slug, 4) and len(checkpoint["hash"]) == 64
    with tenant_context(org):
        sale(org, acme, "50.00")  # later postings do not matter
    against(tmp_path, checkpoint)


def test_a_whole_rewritten_chain_passes_the_chain_check_but_not_the_checkpoint(books, client, tmp_path, owner_sql):
    org, owner, acme = books
    verify_all()
    checkpoint = download(client, org)
    rewrite_whole_chain(owner_sql, org, 2, "rewritten history")
    error, out, err = verify(org)
    assert error is None, err  # the chain alone is consistent again
    with tenant_context(org), connection.cursor() as c:
        c.execute("SELECT memo FROM accounts_journalentry WHERE seq = 2")
        assert c.fetchone()[0] == "rewritten history"
    with pytest.raises(CommandError, match=rf"Ledger of {org.slug} is broken; first bad: entry #4"):
        against(tmp_path, checkpoint)


@pytest.mark.parametrize("edit, message", [
    (lambda c: {**c, "seq": 2}, "the checkpoint was edited: seq differ"),
    (lambda c: {**c, "hash": "0" * 64}, "the checkpoint was edited: hash differ"),
    (lambda c: {**c, "signature": c["signature"][:-2] + ("AA" if not c["signature"].endswith("AA") else "BB")},
     "signature is not valid"),
    (lambda c: {k: v for k, v in c.items() if k != "signature"}, "has no signature"),
    (lambda c: "{not json", "is not JSON"),
    (lambda c: "[1, 2]", "has no signature"),
])
def test_an_edited_or_malformed_checkpoint_is_refused_clearly(books, client, tmp_path, edit, message):
    org, owner, acme = books
    verify_all()
    with pytest.raises(CommandError, match=message):
        against(tmp_path, edit(download(client, org)))


def test_a_foreign_organizations_checkpoint_is_refused(books, client, tmp_path):
    org, owner, acme = books
    verify_all()
    checkpoint = download(client, org)
    other, _ = make_org(name="Other Ltd")
    with pytest.raises(CommandError, match="belongs to another organization"):
        against(tmp_path, checkpoint, org=other)


def test_only_owners_download_and_only_after_a_clean_check(books, client, owner_sql):
    org, owner, acme = books
    url = reverse("verification_checkpoint", args=[org.slug])
    assert client.get(url).status_code == 302  # nothing verified yet: back to the history with a message
    verify_all()
    assert client.get(url).status_code == 200
    finance = add_member(org, Role.FINANCE)
    client.logout()
    client.login(email=finance.email, password=PASSWORD)
    assert client.get(url).status_code in (403, 404)
