"""Issue 13: the incremental check's per-document sums cover only the documents touched since the
last clean check (payments.subledger._TOUCHED: the seals after the verified seal and the entries
after the verified entry name them), not every invoice, payment and credit note. A drift in a
touched document is named by the incremental check; a drift in an old, untouched one waits for the
full check, which still names it. Tampering as the superuser with the triggers off."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.chart import system_accounts
from accounts.ledger_verify import verify_organization
from accounts.ledger_verify_incremental import verify_since_last
from accounts.management.commands.verify_ledger import record_verification
from invoicing.credit_notes import credit_amount
from invoicing.services import void_invoice, write_off
from ledger_site.tenancy import tenant_context
from payments.services import apply_source, refund_payment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.ledger.test_tamper import triggers_off
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def books():
    """Committed and vouched for by a clean full check: three customers, each with an invoice, a
    part payment (with some left unapplied) and an unapplied credit note."""
    org, owner = make_org()
    docs = {}
    with tenant_context(org, owner):
        for name in ("Acme Ltd", "Bolt plc", "Cask & Co"):
            customer = CustomerFactory(organization=org, name=name)
            invoice = issued(org, customer, lines=(("Work", "1", "300.00", None),))
            payment = pay(org, customer, "150.00", allocation={invoice.pk: D("100.00")})
            note = credit_amount(customer, D("20.00"), "Goodwill")
            docs[name] = {"customer": customer, "invoice": invoice, "payment": payment, "note": note}
    vouch(org)
    return org, owner, docs


def vouch(org):
    with tenant_context(org):
        result = verify_organization(org)
        assert result.ok, result.problems
        record_verification(org, result, kind="full")


def checks(org):
    with tenant_context(org):
        return verify_since_last(org).problems, verify_organization(org).problems


DRIFT = {  # what a bug would do: a maintained figure moved, nothing behind it
    "invoice": "UPDATE invoicing_invoice SET amount_paid = amount_paid + 10, amount_due = amount_due - 10 "
               "WHERE id = %s",
    "payment": "UPDATE payments_payment SET amount_allocated = amount_allocated + 10 WHERE id = %s",
    "note": "UPDATE invoicing_creditnote SET amount_applied = amount_applied + 5 WHERE id = %s",
}
TABLE = {"invoice": "invoicing_invoice", "payment": "payments_payment", "note": "invoicing_creditnote"}


def named(problems, what, doc):
    label = doc.number if what in ("invoice", "note") else f"payment {doc.reference or f'#{doc.pk}'}"
    return [p for p in problems if p.startswith(label) and "sub-ledger drift" in p]


@pytest.mark.parametrize("what", sorted(DRIFT))
def test_a_drift_in_an_old_untouched_document_waits_for_the_full_check(books, owner_sql, what):
    org, owner, docs = books
    old = docs["Bolt plc"][what]
    with tenant_context(org, owner):  # new work elsewhere: the incremental check has something to do
        acme = docs["Acme Ltd"]
        pay(org, acme["customer"], "50.00", allocation={acme["invoice"].pk: D("50.00")})
    with triggers_off(owner_sql, TABLE[what]):
        owner_sql.execute(DRIFT[what], [old.pk])
    incremental, full = checks(org)
    assert incremental == [], incremental  # Bolt's documents were not read
    assert named(full, what, old), full
    assert any(p.startswith("customer Bolt plc: open items") for p in full), full  # nor do its items add up


def _touch(org, owner, docs, what):
    """An action on Cask's document of that kind, one the check follows: a write-off (sealed), a
    refund (sealed and posted for the payment), a credit note's allocation (sealed)."""
    cask = docs["Cask & Co"]
    with tenant_context(org, owner):
        if what == "invoice":
            write_off(cask["invoice"], D("1.00"), "Rounding", actor=owner)
        elif what == "payment":
            refund_payment(cask["payment"], amount=D("5.00"), refund_date=date.today(), method="bank_transfer",
                           account=system_accounts(org)["bank"], idempotency_key="refund-1", actor=owner)
        else:
            apply_source(cask["note"], {cask["invoice"].pk: D("5.00")}, actor=owner)


@pytest.mark.parametrize("what", sorted(DRIFT))
def test_a_drift_in_a_document_touched_since_is_named_by_the_incremental_check(books, owner_sql, what):
    org, owner, docs = books
    _touch(org, owner, docs, what)
    doc = docs["Cask & Co"][what]
    with triggers_off(owner_sql, TABLE[what]):
        owner_sql.execute(DRIFT[what], [doc.pk])
    incremental, full = checks(org)
    assert named(incremental, what, doc), incremental
    assert any(p.startswith("customer Cask & Co: open items") for p in incremental), incremental
    assert named(full, what, doc), full
    # Only Cask's: the other customers were not touched and are not mentioned.
    assert not [p for p in incremental if "Acme" in p or "Bolt" in p], incremental


def test_an_allocation_touches_both_its_payment_and_its_invoice(books, owner_sql):
    org, owner, docs = books
    bolt = docs["Bolt plc"]
    with tenant_context(org, owner):
        apply_source(bolt["payment"], {bolt["invoice"].pk: D("10.00")}, actor=owner)
    with triggers_off(owner_sql, "payments_payment", "invoicing_invoice"):
        owner_sql.execute(DRIFT["payment"], [bolt["payment"].pk])
        owner_sql.execute(DRIFT["invoice"], [bolt["invoice"].pk])
    incremental, _ = checks(org)
    assert named(incremental, "payment", bolt["payment"]), incremental
    assert named(incremental, "invoice", bolt["invoice"]), incremental


def test_a_void_and_a_credit_note_issued_since_are_followed(books, owner_sql):
    org, owner, docs = books
    customer = docs["Cask & Co"]["customer"]
    with tenant_context(org, owner):
        fresh = issued(org, customer, lines=(("Extra", "1", "40.00", None),))
    vouch(org)
    with tenant_context(org, owner):
        void_invoice(fresh, "Sent twice", actor=owner)  # a journal entry for the invoice, no new seal
        note = credit_amount(customer, D("30.00"), "Delay")  # unapplied, sealed at commit
    with triggers_off(owner_sql, "invoicing_invoice", "invoicing_creditnote"):
        owner_sql.execute("UPDATE invoicing_invoice SET amount_paid = 10 WHERE id = %s", [fresh.pk])
        owner_sql.execute(DRIFT["note"], [note.pk])
    incremental, _ = checks(org)
    assert named(incremental, "invoice", fresh), incremental
    assert named(incremental, "note", note), incremental


def test_with_nothing_touched_the_incremental_check_reads_no_document(books, owner_sql):
    """Every document drifted, nothing new: the incremental check finds nothing to look at, the
    full check names all nine documents."""
    org, _, docs = books
    with triggers_off(owner_sql, *TABLE.values()):
        for name in docs:
            for what in DRIFT:
                owner_sql.execute(DRIFT[what], [docs[name][what].pk])
    incremental, full = checks(org)
    assert incremental == []
    assert sum(bool(named(full, what, docs[name][what])) for name in docs for what in DRIFT) == 9, full
