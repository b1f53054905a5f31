"""Write-offs, disputes and drafts as imports (issue 14's remaining kinds): through the real doors,
row errors with nothing written, re-import as a no-op."""

from decimal import Decimal

import pytest

from accounts.ledger_verify import verify_organization
from accounts.models import CustomerBalance, JournalEntry
from invoicing.models import Invoice, InvoiceEvent, InvoiceLine, NumberSeries, WriteOff
from invoicing.services import issue_invoice
from ledger_site.tenancy import tenant_context
from reminders.models_collections import Dispute
from tests.factories import make_org
from tests.imports.helpers import CUSTOMERS, INVOICES, PAYMENTS, do_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def books():
    """Customers, OLD-001 (1250.00, 600.00 paid: 650.00 due) and OLD-002 (120.00, paid)."""
    org, owner = make_org()
    for kind, text in (("customers", CUSTOMERS), ("invoices", INVOICES), ("payments", PAYMENTS)):
        assert do_import(org, kind, text.encode(), actor=owner).committed
    return org, owner


def errors_of(report):
    return [(e.row, e.column, e.message) for e in report.errors]


def state(org):
    with tenant_context(org):
        return (WriteOff.objects.count(), Dispute.objects.count(), Invoice.objects.count(),
                JournalEntry.objects.count())


WRITE_OFFS = ("invoice_number,date,amount,reason\n"
              "OLD-001,2025-06-30,50.00,Goodwill\n"
              "OLD-001,2025-12-31,,Customer went under\n")


def test_write_offs_go_through_the_write_off_door_and_import_once(books):
    org, owner = books
    dry = do_import(org, "write_offs", WRITE_OFFS.encode(), commit=False, actor=owner)
    assert dry.ok and dry.new == 2 and dry.totals == {"EUR": Decimal("650.00")}  # 50 + the 600 left
    report = do_import(org, "write_offs", WRITE_OFFS.encode(), actor=owner)
    assert report.committed and report.written == {"write_offs": 2}
    with tenant_context(org):
        old1 = Invoice.objects.get(number="OLD-001")
        assert (old1.amount_written_off, old1.amount_due) == (Decimal("650.00"), Decimal(0))
        offs = list(WriteOff.objects.order_by("effective_date"))
        assert [(w.amount, w.effective_date.isoformat(), w.reason) for w in offs] == [
            (Decimal("50.00"), "2025-06-30", "Goodwill"), (Decimal("600.00"), "2025-12-31", "Customer went under")]
        assert offs[0].entry.idempotency_key == "import:writeoff:OLD-001:20250630:1"
        assert CustomerBalance.objects.get(customer__code="0042").amount == 0
        assert verify_organization(org).ok
    before = state(org)
    again = do_import(org, "write_offs", WRITE_OFFS.encode(), actor=owner)
    assert again.committed and again.new == 0 and again.existing == 2
    assert state(org) == before


@pytest.mark.parametrize("row, column, message", [
    ("OLD-001,2025-06-30,700.00,Too much", "amount", "at most the 640.00 invoice OLD-001 still owes"),
    ("OLD-002,2025-06-30,,Paid already", "invoice_number", "owes nothing"),
    ("NOPE-1,2025-06-30,1,x", "invoice_number", "No invoice NOPE-1 in this organization"),
    ("OLD-001,2025-03-01,1,Before issue", "date", "before the invoice's issue date"),
    ("OLD-001,2099-01-01,1,Future", "date", "in the future"),
    ("OLD-001,2025-06-30,1.234,Cents", "amount", ""),
])
def test_a_bad_write_off_row_is_reported_and_nothing_is_written(books, row, column, message):
    org, owner = books
    before = state(org)
    data = f"invoice_number,date,amount,reason\nOLD-001,2025-06-30,10.00,Fine\n{row}\n".encode()
    report = do_import(org, "write_offs", data, actor=owner)
    assert not report.committed
    assert [(r, c) for r, c, _m in errors_of(report)] == [(3, column)]
    assert message in report.errors[0].message
    assert state(org) == before


def test_write_offs_in_one_file_count_the_rows_above(books):
    org, owner = books
    data = b"invoice_number,date,amount\nOLD-001,2025-06-30,600\nOLD-001,2025-07-30,60\n"
    report = do_import(org, "write_offs", data, commit=False, actor=owner)
    assert errors_of(report) == [(3, "amount", "Write off more than 0 and at most the 50.00 invoice OLD-001 still "
                                               "owes.")]


def test_a_write_off_of_another_organizations_invoice_is_unknown(books):
    org, owner = books
    other, other_owner = make_org()
    assert do_import(other, "customers", CUSTOMERS.encode(), actor=other_owner).committed
    report = do_import(other, "write_offs", b"invoice_number,date\nOLD-001,2025-06-30\n", actor=other_owner)
    assert not report.committed and report.errors[0].column == "invoice_number"
    assert state(org)[0] == 0


DISPUTES = ("invoice_number,reason,amount,message\n"
            "OLD-001,Wrong amount,100.00,The travel was not agreed\n")


def test_disputes_go_through_raise_dispute_put_the_invoice_on_hold_and_import_once(books):
    org, owner = books
    report = do_import(org, "disputes", DISPUTES.encode(), actor=owner)
    assert report.committed and report.written == {"disputes": 1}
    with tenant_context(org):
        dispute = Dispute.objects.get()
        assert (dispute.reason, dispute.amount, dispute.whole) == ("wrong_amount", Decimal("100.00"), False)
        assert dispute.message == "The travel was not agreed"
        invoice = Invoice.objects.get(number="OLD-001")
        assert invoice.disputed_at is not None and invoice.disputed_amount == Decimal("100.00")
    again = do_import(org, "disputes", DISPUTES.encode(), actor=owner)
    assert again.committed and again.existing == 1 and again.new == 0
    with tenant_context(org):
        assert Dispute.objects.count() == 1


def test_a_dispute_of_the_whole_amount_when_the_amount_is_empty(books):
    org, owner = books
    assert do_import(org, "disputes", b"invoice_number,reason\nOLD-001,\n", actor=owner).committed
    with tenant_context(org):
        dispute = Dispute.objects.get()
        assert (dispute.reason, dispute.amount, dispute.whole) == ("other", Decimal("650.00"), True)
        assert Invoice.objects.get(number="OLD-001").disputed_amount is None  # all of it on hold


@pytest.mark.parametrize("row, column, message", [
    ("OLD-002,other,,", "invoice_number", "not open"),  # paid
    ("OLD-001,Because,,", "reason", "Unknown reason"),
    ("OLD-001,other,651.00,", "amount", "at most the 650.00"),
    ("OLD-009,other,,", "invoice_number", "No invoice OLD-009"),
    ("OLD-001,wrong_amount,100.00,", "invoice_number", "row above"),
])
def test_a_bad_dispute_row_is_reported_and_nothing_is_written(books, row, column, message):
    org, owner = books
    data = f"{DISPUTES}{row}\n".encode()
    report = do_import(org, "disputes", data, actor=owner)
    assert not report.committed
    assert [(r, c) for r, c, _m in errors_of(report)] == [(3, column)]
    assert message in report.errors[0].message
    with tenant_context(org):
        assert Dispute.objects.count() == 0
        assert Invoice.objects.get(number="OLD-001").disputed_at is None


DRAFTS = ("number,customer_code,issue_date,description,quantity,unit_price,tax,status\n"
          "Q-77,0042,2025-05-01,Design,3,100.00,20,draft\n"
          "Q-77,0042,2025-05-01,Print,1,40,0,draft\n"
          "INV-2025-00012,0043,2025-05-02,Support,1,10,0,paid\n")


def test_drafts_stay_drafts_take_no_number_and_post_nothing(books):
    org, owner = books
    with tenant_context(org):
        entries_before = JournalEntry.objects.count()
    report = do_import(org, "invoices", DRAFTS.encode(), actor=owner)
    assert report.committed and report.written == {"invoices": 1, "drafts": 1}
    with tenant_context(org):
        draft = Invoice.objects.get(status="draft")
        assert draft.number is None and draft.issue_entry_id is None and draft.snapshot is None
        assert draft.total == Decimal("400.00") and draft.amount_due == Decimal("400.00")
        assert InvoiceLine.objects.filter(invoice=draft).count() == 2
        assert InvoiceEvent.objects.get(invoice=draft).message.endswith("Q-77)")
        assert JournalEntry.objects.count() == entries_before + 1  # the issued one only
        # The series moved past the issued INV-2025-00012, not for the draft.
        assert NumberSeries.objects.get(kind="invoice", year=2025).last_number == 12
        balance = CustomerBalance.objects.get(customer__code="0042").amount
        assert balance == Decimal("650.00")  # the draft owes nothing yet
    again = do_import(org, "invoices", DRAFTS.encode(), actor=owner)
    assert again.committed and again.new == 0 and again.existing == 2
    with tenant_context(org, owner):
        assert Invoice.objects.filter(status="draft").count() == 1
        issued = issue_invoice(Invoice.objects.get(status="draft"), actor=owner, credit_control=False)
        assert issued.status == "issued" and issued.number.startswith("INV-") and issued.issue_entry_id
        assert verify_organization(org).ok


def test_a_draft_number_that_exists_issued_and_an_unknown_status_are_errors(books):
    org, owner = books
    data = (b"number,customer_code,issue_date,description,unit_price,status\n"
            b"OLD-001,0042,2025-05-01,X,10,draft\n"
            b"NEW-1,0042,2025-05-01,Y,10,void\n")
    report = do_import(org, "invoices", data, actor=owner)
    assert not report.committed
    assert sorted((r, c) for r, c, _m in errors_of(report)) == [(2, "number"), (3, "status")]


def test_the_demos_draft_import_leaves_a_draft():
    from accounts.imports.demo import seed_demo_drafts, seed_demo_import

    org, owner = make_org()
    with tenant_context(org, owner):
        seed_demo_import(org, owner)
        job = seed_demo_drafts(org, owner)
    assert job.status == "done" and job.report["written"] == {"invoices": 0, "drafts": 1}
    with tenant_context(org):
        draft = Invoice.objects.get()
        assert (draft.status, draft.number, draft.total) == ("draft", None, Decimal("310.00"))
        assert not JournalEntry.objects.exists()
