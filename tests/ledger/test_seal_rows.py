"""Set-based sealing (accounts.seals.ledger_seal_rows, the statement triggers): the rows of one
INSERT are sealed in one call, chained in id order, the head moved once; two transactions sealing
for one organization take the head's lock one after the other and the chain stays one line."""

import threading

import pytest
from django.db import connection, transaction

from accounts.ledger_verify import verify_organization
from accounts.models import LedgerHead, SealRecord
from accounts.seals import GENESIS, chain_text
from invoicing.models import StoredDocument
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db(transaction=True)


def _docs(org, invoice, tag, n):
    return [StoredDocument(organization=org, kind="invoice", invoice=invoice, customer=invoice.customer,
                           state_key=f"{tag}-{i}", filename=f"{tag}-{i}.pdf", content=f"%PDF {tag} {i}".encode(),
                           sha256="x", size=8) for i in range(n)]


def _chain(org):
    import hashlib

    prev, seq = GENESIS, 0
    for record in SealRecord.objects.filter(organization=org).order_by("seq"):
        seq += 1
        assert record.seq == seq and record.prev_hash == prev
        text = chain_text(prev, record.seq, record.kind, record.object_id, record.entry_hash,
                          record.content_hash, record.label)
        assert record.hash == hashlib.sha256(text.encode()).hexdigest()
        prev = record.hash
    return seq, prev


def test_one_insert_of_many_rows_is_sealed_row_by_row_in_one_chain():
    org, owner = make_org()
    with tenant_context(org, owner):
        invoice = issued(org, CustomerFactory(organization=org))
        before = SealRecord.objects.filter(organization=org).count()
        with transaction.atomic():
            docs = StoredDocument.objects.bulk_create(_docs(org, invoice, "bulk", 40))
        sealed = SealRecord.objects.filter(organization=org, kind="pdf").order_by("seq")
        assert [s.object_id for s in sealed] == sorted(d.pk for d in docs)
        assert [s.seq for s in sealed] == list(range(before + 1, before + 41))
        assert {s.entry_id for s in sealed} == {invoice.issue_entry_id}
        seq, last = _chain(org)
        head = LedgerHead.objects.get(organization=org)
        assert (head.seal_seq, head.seal_hash) == (seq, last)
        assert verify_organization(org).ok


def test_two_transactions_sealing_at_once_continue_one_chain():
    """A seals and holds its transaction open; B's seal waits for the head's lock and continues
    from A's head. Without the lock B would read the old head and collide with A's numbers."""
    org, owner = make_org()
    with tenant_context(org, owner):
        invoice = issued(org, CustomerFactory(organization=org))
    a_sealed, errors = threading.Event(), []

    def a():
        try:
            with tenant_context(org, owner), transaction.atomic():
                StoredDocument.objects.bulk_create(_docs(org, invoice, "a", 5))
                a_sealed.set()
                threading.Event().wait(1.5)  # B starts meanwhile
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(e)
            a_sealed.set()
        finally:
            connection.close()

    def b():
        try:
            a_sealed.wait(30)
            with tenant_context(org, owner), transaction.atomic():
                StoredDocument.objects.bulk_create(_docs(org, invoice, "b", 5))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with tenant_context(org, owner):
        assert StoredDocument.objects.filter(organization=org).count() == 10
        assert SealRecord.objects.filter(organization=org, kind="pdf").count() == 10
        seq, last = _chain(org)
        assert LedgerHead.objects.get(organization=org).seal_seq == seq
        assert verify_organization(org).ok


def test_a_draft_inserted_is_not_sealed_until_it_is_issued():
    from invoicing.services import issue_invoice
    from tests.invoicing_helpers import draft

    org, owner = make_org()
    with tenant_context(org, owner):
        invoice = draft(org, CustomerFactory(organization=org))
        assert not SealRecord.objects.filter(organization=org, kind="invoice", object_id=invoice.pk).exists()
        issue_invoice(invoice, owner)
        assert SealRecord.objects.filter(organization=org, kind="invoice", object_id=invoice.pk).count() == 1
        assert verify_organization(org).ok
