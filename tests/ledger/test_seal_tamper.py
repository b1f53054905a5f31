"""Tamper tests for the seal chain and the sub-ledger: a superuser switches the triggers off and
changes committed documents, allocations, stored PDFs and the timeline around the journal.
verify_ledger must find each and name the document and its customer."""

import re
from decimal import Decimal

import pytest
from django.db import connection

from accounts.ledger_verify import verify_organization
from invoicing.credit_notes import credit_amount
from invoicing.models import StoredDocument
from invoicing.services import write_off
from ledger_site.tenancy import tenant_context
from payments.models import Allocation
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.ledger.test_tamper import triggers_off, verify
from tests.payments.helpers import pay
from tests.smtp import smtp_server_fixture

smtp_server = pytest.fixture(smtp_server_fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books():
    """Committed: two customers, three invoices, a part payment, a credit note, a write-off, a PDF."""
    org, owner = make_org()
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org, name="Acme Ltd")
        bolt = CustomerFactory(organization=org, name="Bolt plc")
        inv1 = issued(org, acme)  # 240.00
        inv2 = issued(org, acme, lines=(("Design", "1", "50.00", "20"),))  # 60.00
        inv3 = issued(org, bolt, lines=(("Audit", "3", "10.00", None),))  # 30.00
        payment = pay(org, acme, "100.00", allocation={inv1.pk: Decimal("100.00")})
        note = credit_amount(acme, Decimal("12.00"), "Late delivery", invoice=inv2)
        write_off(inv3, Decimal("5.00"), "Goodwill")
        doc = StoredDocument.objects.create(organization=org, kind="invoice", invoice=inv1, customer=acme,
                                            state_key="k1", filename=f"{inv1.number}.pdf",
                                            content=b"%PDF-1.7 sealed", sha256="x", size=15)
    return org, {"acme": acme, "bolt": bolt, "inv1": inv1, "inv2": inv2, "inv3": inv3, "payment": payment,
                 "note": note, "doc": doc}


def test_clean_books_verify_with_every_kind_sealed(books):
    org, _ = books
    error, out, err = verify(org)
    assert error is None, err
    # 3 invoices, 1 payment, 1 allocation of it, 1 credit note, its allocation, 1 write-off, 1 PDF.
    assert "9 seals, 9 sealed rows" in out


def test_seals_are_chained_in_the_database(books):
    org, _ = books
    with tenant_context(org), connection.cursor() as c:
        c.execute("SELECT seq, kind FROM accounts_sealrecord ORDER BY seq")
        rows = c.fetchall()
        c.execute("SELECT seal_seq FROM accounts_ledgerhead")
        head = c.fetchone()[0]
    assert [seq for seq, _ in rows] == list(range(1, 10)) and head == 9
    assert {kind for _, kind in rows} == {"invoice", "payment", "allocation", "credit_note", "write_off", "pdf"}


def problems(org):
    with tenant_context(org):
        return verify_organization(org).problems


def test_changed_snapshot_line_is_named(books, owner_sql):
    org, d = books
    inv1 = d["inv1"]
    with triggers_off(owner_sql, "invoicing_invoice"):
        owner_sql.execute("""UPDATE invoicing_invoice SET snapshot = jsonb_set(snapshot, '{lines,0,description}',
                             '"Something else"') WHERE id = %s""", [inv1.pk])
    found = problems(org)
    seal = (re.escape(inv1.number)
            + r" \(customer Acme Ltd\): the invoice no longer matches the hash sealed in seal #\d+ \(entry #1\)")
    assert len(found) == 1 and re.fullmatch(seal, found[0]), found


def test_changed_invoice_line_row_is_named(books, owner_sql):
    org, d = books
    with triggers_off(owner_sql, "invoicing_invoiceline"):
        owner_sql.execute("UPDATE invoicing_invoiceline SET description = 'Other' WHERE invoice_id = %s",
                          [d["inv2"].pk])
    found = problems(org)
    assert len(found) == 1, found
    assert found[0].startswith(f"{d['inv2'].number} (customer Acme Ltd): the invoice no longer"), found


def test_changed_stored_pdf_bytes_are_named(books, owner_sql):
    org, d = books
    with triggers_off(owner_sql, "invoicing_storeddocument"):
        owner_sql.execute("UPDATE invoicing_storeddocument SET content = 'forged'::bytea WHERE id = %s",
                          [d["doc"].pk])
    found = problems(org)
    assert found == [f"{d['inv1'].number}.pdf (customer Acme Ltd): the stored PDF no longer matches the hash sealed "
                     f"in seal #{seal_seq(org, 'pdf', d['doc'].pk)} (entry #1)"], found


def test_changed_allocation_amount_is_found(books, owner_sql):
    org, d = books
    with tenant_context(org):
        alloc = Allocation.objects.get(payment=d["payment"])
    with triggers_off(owner_sql, "payments_allocation"):
        owner_sql.execute("UPDATE payments_allocation SET amount = 90 WHERE id = %s", [alloc.pk])
    found = problems(org)
    number = d["inv1"].number
    assert any(p.startswith(f"allocation #{alloc.pk} to {number} (customer Acme Ltd): the allocation no longer "
                            "matches the hash sealed") for p in found), found
    assert any(p.startswith(f"{number} (customer Acme Ltd): sub-ledger drift: paid 100.000 but its payment "
                            "allocations sum to 90.000") for p in found), found


def test_deleted_allocation_is_found_even_when_the_sums_are_made_to_agree(books, owner_sql):
    """Someone deletes the allocation and puts the invoice and payment back as if unpaid: the
    sub-ledger then agrees with itself, the seal chain does not."""
    org, d = books
    with tenant_context(org):
        alloc = Allocation.objects.get(payment=d["payment"])
    with triggers_off(owner_sql, "payments_allocation", "invoicing_invoice", "payments_payment"):
        owner_sql.execute("DELETE FROM payments_allocation WHERE id = %s", [alloc.pk])
        owner_sql.execute("UPDATE invoicing_invoice SET amount_paid = 0, amount_due = total WHERE id = %s",
                          [d["inv1"].pk])
        owner_sql.execute("UPDATE payments_payment SET amount_allocated = 0 WHERE id = %s", [d["payment"].pk])
    found = problems(org)
    assert found == [f"allocation #{alloc.pk} to {d['inv1'].number}: the allocation sealed in seal "
                     f"#{seal_seq(org, 'allocation', alloc.pk)} has been deleted"], found


def test_deleted_payment_with_its_allocations_is_found(books, owner_sql):
    org, d = books
    payment = d["payment"]
    with triggers_off(owner_sql, "payments_allocation", "payments_payment", "invoicing_invoice"):
        owner_sql.execute("DELETE FROM payments_allocation WHERE payment_id = %s", [payment.pk])
        owner_sql.execute("DELETE FROM payments_payment WHERE id = %s", [payment.pk])
        owner_sql.execute("UPDATE invoicing_invoice SET amount_paid = 0, amount_due = total WHERE id = %s",
                          [d["inv1"].pk])
    found = problems(org)
    assert any("the payment sealed in seal" in p and p.endswith("has been deleted") for p in found), found
    # Its receipt entry is still in the journal, pointing at nothing.
    assert any(re.fullmatch(rf"entry #\d+ \(.*\): posted for payments.payment #{payment.pk}, which no longer exists",
                            p) for p in found), found


def test_due_amount_drift_names_invoice_and_customer(books, owner_sql):
    """The issue's example: paid +10 and due −10, no allocation, no journal entry."""
    org, d = books
    inv3 = d["inv3"]
    with triggers_off(owner_sql, "invoicing_invoice"):
        owner_sql.execute("UPDATE invoicing_invoice SET amount_paid = amount_paid + 10, amount_due = amount_due - 10 "
                          "WHERE id = %s", [inv3.pk])
    found = problems(org)
    assert found == [
        f"{inv3.number} (customer Bolt plc): sub-ledger drift: paid 10.000 but its payment allocations sum to 0; "
        "due 15.000 but total − allocations − credits − write-offs = 25.000",
        "customer Bolt plc: open items 15.000 − unapplied 0 = 15.000 EUR, but its AR balance is 25.000",
    ], found


def test_drift_between_two_customers_is_found(books, owner_sql):
    """Moving 10 of due from one customer's invoice to another's keeps every total the same."""
    org, d = books
    with triggers_off(owner_sql, "invoicing_invoice"):
        owner_sql.execute("UPDATE invoicing_invoice SET amount_due = amount_due - 10, amount_paid = amount_paid + 10 "
                          "WHERE id = %s", [d["inv1"].pk])
        owner_sql.execute("UPDATE invoicing_invoice SET amount_due = amount_due + 10, total = total + 10 "
                          "WHERE id = %s", [d["inv3"].pk])
    found = "\n".join(problems(org))
    assert "customer Acme Ltd: open items" in found and "customer Bolt plc: open items" in found
    assert f"{d['inv3'].number} (customer Bolt plc): the invoice no longer matches the hash sealed" in found


def test_deleted_timeline_event_cannot_be_deleted_by_the_owner_role(books, owner_sql):
    import psycopg

    org, d = books
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="frozen"):
        owner_sql.execute("DELETE FROM invoicing_invoiceevent WHERE invoice_id = %s", [d["inv1"].pk])


def test_changed_seal_record_is_found(books, owner_sql):
    org, _ = books
    with triggers_off(owner_sql, "accounts_sealrecord"):
        owner_sql.execute("UPDATE accounts_sealrecord SET content_hash = repeat('0', 64) WHERE seq = 2")
    found = problems(org)
    assert any(p.startswith("seal #2 ") and "its hash does not match its contents" in p for p in found), found


def test_row_written_past_the_triggers_is_unsealed(books, owner_sql):
    org, d = books
    owner_sql.execute("SET session_replication_role = replica")
    owner_sql.execute("""INSERT INTO payments_allocation (organization_id, invoice_id, payment_id, amount, reason,
                         effective_date, created_at) VALUES (%s, %s, %s, 1, '', now(), now())""",
                      [org.pk, d["inv1"].pk, d["payment"].pk])
    owner_sql.execute("SET session_replication_role = DEFAULT")
    found = problems(org)
    assert any("the allocation was never sealed" in p for p in found), found


def seal_seq(org, kind, object_id) -> int:
    with tenant_context(org), connection.cursor() as c:
        c.execute("SELECT seq FROM accounts_sealrecord WHERE kind = %s AND object_id = %s", [kind, object_id])
        return c.fetchone()[0]


# --- The entry's hash covers who posted it, why, and when (ledger_chain version 2) -------------

@pytest.mark.parametrize("change", [
    "UPDATE accounts_journalentry SET actor_id = (SELECT max(id) FROM accounts_user) WHERE id = %s",
    "UPDATE accounts_journalentry SET reason = 'approved by the board' WHERE id = %s",
    "UPDATE accounts_journalentry SET posted_at = posted_at - interval '1 day' WHERE id = %s",
    "UPDATE accounts_journalentry SET posted_at = posted_at + interval '1 microsecond' WHERE id = %s",
])
def test_changed_posted_by_reason_or_time_is_named(books, owner_sql, change):
    org, d = books
    entry_id = d["payment"].entry_id
    with triggers_off(owner_sql, "accounts_journalentry"):
        owner_sql.execute(change, [entry_id])
    seq = owner_sql.execute("SELECT seq FROM accounts_journalentry WHERE id = %s", [entry_id]).fetchone()[0]
    error, _, err = verify(org)
    assert error is not None and f"entry #{seq}" in error, error
    assert f"entry #{seq}: hash does not match its contents" in err


def test_a_version_1_entry_still_verifies_and_cannot_be_passed_off_as_another_version(books, owner_sql):
    org, d = books
    entry_id = d["payment"].entry_id
    with triggers_off(owner_sql, "accounts_journalentry"):
        owner_sql.execute("UPDATE accounts_journalentry SET hash_version = 1 WHERE id = %s", [entry_id])
    error, _, err = verify(org)
    assert error is not None and "hash does not match its contents" in err


# --- Nothing is rendered from or served as a document that differs from its seal -------------

@pytest.fixture
def pdf_url(books, client):
    from django.urls import reverse

    from accounts.models import Role
    from tests.factories import add_member

    org, d = books
    with tenant_context(org):
        viewer = add_member(org, Role.VIEWER)
    client.force_login(viewer)
    return reverse("invoice_pdf", kwargs={"org_slug": org.slug, "pk": d["inv2"].pk})


def test_a_changed_invoice_is_not_rendered_but_refused_and_logged(books, owner_sql, client, pdf_url, caplog):
    org, d = books
    with triggers_off(owner_sql, "invoicing_invoice"):
        owner_sql.execute("UPDATE invoicing_invoice SET snapshot = jsonb_set(snapshot, '{buyer,name}', '\"Someone\"') "
                          "WHERE id = %s", [d["inv2"].pk])
    with tenant_context(org):
        before = StoredDocument.objects.count()
    response = client.get(pdf_url)
    assert response.status_code == 409
    assert f"{d['inv2'].number}: the invoice no longer matches the hash sealed in seal #" in response.content.decode()
    assert any("Refused to render" in r.message for r in caplog.records)
    with tenant_context(org):
        assert StoredDocument.objects.count() == before  # nothing rendered, nothing stored


def test_changed_stored_bytes_are_not_served(books, owner_sql, client, pdf_url):
    org, d = books
    first = client.get(pdf_url)
    assert first.status_code == 200 and first.content.startswith(b"%PDF")
    with triggers_off(owner_sql, "invoicing_storeddocument"):
        owner_sql.execute("UPDATE invoicing_storeddocument SET content = 'forged'::bytea, "
                          "sha256 = encode(sha256('forged'::bytea), 'hex') WHERE invoice_id = %s", [d["inv2"].pk])
    response = client.get(pdf_url)
    assert response.status_code == 409 and b"forged" not in response.content
    assert "the stored PDF no longer matches the hash sealed in seal #" in response.content.decode()


def test_a_credit_note_is_sealed_even_when_the_transaction_commits_outside_the_tenant_context():
    """Credit notes are sealed at commit (their lines come after them); a command or task that
    wraps its work in a transaction may have left the tenant context by then."""
    from django.db import transaction

    org, owner = make_org()
    with transaction.atomic(), tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        note = credit_amount(customer, Decimal("5.00"), "Goodwill")
    with tenant_context(org):
        assert seal_seq(org, "credit_note", note.pk) >= 1
        assert verify_organization(org).ok


# --- The scheduled check: a break is recorded and e-mailed to the owners once -----------------

def test_the_schedule_finds_a_break_and_mails_the_owners_exactly_once(books, owner_sql, smtp_server):
    from accounts.models import LedgerHead, Role
    from accounts.tasks import verify_all
    from tests.factories import add_member

    org, d = books
    with tenant_context(org):
        second_owner = add_member(org, Role.OWNER)
        add_member(org, Role.FINANCE)
    assert verify_all()["broken"] == 0 and smtp_server.messages == []
    with triggers_off(owner_sql, "invoicing_invoice"):
        owner_sql.execute("UPDATE invoicing_invoice SET amount_due = amount_due - 1, amount_paid = amount_paid + 1 "
                          "WHERE id = %s", [d["inv3"].pk])
    found = verify_all()
    assert (found["broken"], found["mailed"]) == (1, 1)
    again = verify_all()  # found again: recorded, not mailed again
    assert (again["broken"], again["mailed"]) == (1, 0)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert sorted(a.strip() for a in message["To"].split(",")) == sorted([org_owner_email(org), second_owner.email])
    assert d["inv3"].number in message.get_content() and "Bolt plc" in message.get_content()
    with tenant_context(org):
        head = LedgerHead.objects.get(organization=org)
    assert head.verified_ok is False and d["inv3"].number in head.verified_message


def org_owner_email(org):
    from accounts.models import Membership, Role

    with tenant_context(org):
        return Membership.objects.filter(organization=org, role=Role.OWNER).order_by("pk").first().user.email
