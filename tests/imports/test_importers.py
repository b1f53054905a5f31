"""The importers through the framework: happy paths, row errors with nothing written, all or
nothing, re-import as a no-op, tenancy, and balances equal to the file's own sums."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.ledger_verify import verify_organization
from accounts.models import Customer, CustomerBalance, JournalEntry
from invoicing.models import Invoice, InvoiceSettings, NumberSeries
from invoicing.numbering import take_number
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from tests.factories import make_org
from tests.imports.helpers import CUSTOMERS, INVOICES, PAYMENTS, do_import, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org()[0]


def counts(org):
    with tenant_context(org):
        return (Customer.objects.count(), Invoice.objects.count(), Payment.objects.count(),
                JournalEntry.objects.count())


def balances(org):
    with tenant_context(org):
        return {b.customer.code: b.amount for b in CustomerBalance.objects.select_related("customer")}


def load_all(org):
    for kind, text in (("customers", CUSTOMERS), ("invoices", INVOICES), ("payments", PAYMENTS)):
        report = do_import(org, kind, text.encode())
        assert report.ok and report.committed, report.errors


def test_it_imports_customers_invoices_and_payments_with_their_original_numbers(org):
    load_all(org)
    with tenant_context(org):
        old1 = Invoice.objects.get(number="OLD-001")
        assert old1.customer.code == "0042" and old1.status == "issued"
        assert (old1.subtotal, old1.tax_total, old1.total) == (Decimal("1050.00"), Decimal("200.00"),
                                                               Decimal("1250.00"))
        assert old1.amount_paid == Decimal("600.00") and old1.amount_due == Decimal("650.00")
        assert old1.issue_entry.effective_date.isoformat() == "2025-03-15"
        assert old1.issue_entry.idempotency_key == "import:invoice:OLD-001"
        old2 = Invoice.objects.get(number="OLD-002")
        assert old2.due_date.isoformat() == "2025-04-19"  # issue date + the customer's 30 days
        assert old2.amount_due == 0  # paid oldest first
        assert Customer.objects.get(code="0042").billing_emails == "ap@acme.example"
    assert balances(org) == {"0042": Decimal("650.00"), "0043": Decimal("0.00")}
    with tenant_context(org):
        assert verify_organization(org).ok


def test_reimporting_the_same_files_adds_nothing(org):
    load_all(org)
    before = counts(org), balances(org)
    for kind, text in (("customers", CUSTOMERS), ("invoices", INVOICES), ("payments", PAYMENTS)):
        report = do_import(org, kind, text.encode())
        assert report.ok and report.new == 0 and report.existing == report.records > 0
    assert (counts(org), balances(org)) == before


def test_an_overlapping_file_reports_the_rows_that_exist(org):
    load_all(org)
    more = INVOICES + "OLD-003,0043,2025-05-01,,Extra,1,10,0\n"
    report = do_import(org, "invoices", more.encode(), commit=False)
    assert report.ok and report.new == 1 and report.existing_keys == ["OLD-001", "OLD-002"]


def test_the_organization_series_continues_after_imported_numbers_of_its_form(org):
    with tenant_context(org):
        settings_ = InvoiceSettings.objects.get(organization=org)
    do_import(org, "customers", CUSTOMERS.encode())
    text = ("number,customer_code,issue_date,description,unit_price\n"
            f"{settings_.invoice_prefix}2025-00041,0042,2025-02-01,Old,10\n")
    assert do_import(org, "invoices", text.encode()).committed
    with tenant_context(org):
        assert NumberSeries.objects.get(organization=org, kind="invoice", year=2025).last_number == 41
        assert take_number(org, "invoice", Invoice.objects.get().issue_date) == f"{settings_.invoice_prefix}2025-00042"


BAD_INVOICES = [
    ("OLD-9,9999,2025-03-15,X,1,10,0", "customer_code", "No customer has the code 9999"),
    ("OLD-9,0042,2099-03-15,X,1,10,0", "issue_date", "in the future"),
    ("OLD-9,0042,1990-03-15,X,1,10,0", "issue_date", "oldest date the ledger accepts"),
    ("OLD-9,0042,2025-03-15,X,1,-10,0", "unit_price", "cannot be negative"),
    ("OLD-9,0042,2025-03-15,X,1,abc,0", "unit_price", "is not a number"),
    ("OLD-9,0042,2025-03-15,X,0,10,0", "quantity", "more than 0"),
    ("OLD-9,0042,2025-03-15,X,1,10,150", "tax", "between 0 and 100"),
    ("OLD-9,0042,2025-03-15,X,1,99999999999999999,0", "unit_price", "too large"),
    ("OLD-9,0042,2025-03-15,=HYPERLINK(1),1,10,0", "description", "formula"),
    ("OLD-9,0042,2025-03-15,X,1,10", "", "has 6 cells; the header has 7"),
    ("OLD-9,0042,2025-03-15,,1,10,0", "description", "Line description is required"),
    ("OLD-001,0043,2025-03-15,X,1,10,0", "number", "already has an invoice OLD-001"),
]


@pytest.mark.parametrize(("line", "column", "message"), BAD_INVOICES)
def test_a_bad_invoice_row_is_reported_and_nothing_is_imported(org, line, column, message):
    load_all(org)
    before = counts(org), balances(org)
    text = "number,customer_code,issue_date,description,quantity,unit_price,tax\n" \
           "OLD-8,0042,2025-03-15,Fine,1,10,0\n" + line + "\n"
    report = do_import(org, "invoices", text.encode())
    assert not report.committed and report.error_count >= 1
    first = report.errors[0]
    assert first.row == 3 and first.column == column and message in first.message, report.errors
    assert (counts(org), balances(org)) == before


def test_duplicate_numbers_within_a_file_with_different_customers_are_refused(org):
    do_import(org, "customers", CUSTOMERS.encode())
    text = ("number,customer_code,issue_date,description,unit_price\n"
            "N1,0042,2025-03-15,A,10\nN1,0043,2025-03-15,B,10\n")
    report = do_import(org, "invoices", text.encode())
    assert not report.committed and report.errors[0].row == 3 and "Differs from row 2" in report.errors[0].message


@pytest.mark.parametrize(("line", "column", "message"), [
    ("0042,2025-04-01,600.00,R9,NOPE", "invoices", "has no invoice NOPE"),
    ("0042,2025-04-01,600.00,R9,OLD-002", "invoices", "has no invoice OLD-002"),  # another customer's
    ("0042,2025-04-01,2000.00,R9,OLD-001=2000", "invoices", "still owes"),
    ("0042,2025-04-01,0,R9,", "amount", "more than zero"),
    ("0042,2025-04-01,1.0001,R9,", "amount", "more decimals"),
    ("0042,2099-04-01,10,R9,", "received_date", "too far in the future"),
])
def test_a_bad_payment_row_is_reported_and_nothing_is_imported(org, line, column, message):
    do_import(org, "customers", CUSTOMERS.encode())
    do_import(org, "invoices", INVOICES.encode())
    before = counts(org), balances(org)
    text = "customer_code,received_date,amount,reference,invoices\n0043,2025-04-02,5,OK,\n" + line + "\n"
    report = do_import(org, "payments", text.encode())
    assert not report.committed
    assert (report.errors[0].row, report.errors[0].column) == (3, column) and message in report.errors[0].message
    assert (counts(org), balances(org)) == before


def test_customer_rows_go_through_the_customer_form(org):
    text = "code,name,currency,email\n0042,Acme,EUR,not-an-address\n0043,Beta,XYZ,\n0044,,EUR,\n0042,Dup,EUR,\n"
    report = do_import(org, "customers", text.encode())
    by_row = {e.row: e for e in report.errors}
    assert by_row[2].column == "email" and by_row[3].column == "currency" and by_row[4].column == "name"
    assert "also on row 2" in by_row[5].message
    assert counts(org)[0] == 0


def test_an_import_stopped_half_way_leaves_nothing_and_can_run_again(org):
    do_import(org, "customers", CUSTOMERS.encode())
    before = counts(org)

    def crash(phase, done, total):
        if phase == "write" and 0 < done < total or (phase == "write" and done == total):
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        do_import(org, "invoices", INVOICES.encode(), progress=crash)
    assert counts(org) == before
    assert do_import(org, "invoices", INVOICES.encode()).committed
    assert counts(org)[1] == 2


def test_an_import_in_one_organization_never_reaches_another(org):
    other = make_org()[0]
    do_import(other, "customers", CUSTOMERS.encode())
    do_import(other, "invoices", INVOICES.encode())
    # org has no customers: the codes of the other organization are unknown here
    report = do_import(org, "invoices", INVOICES.encode())
    assert not report.committed and "No customer has the code 0042" in report.errors[0].message
    do_import(org, "customers", CUSTOMERS.encode())
    report = do_import(org, "payments", PAYMENTS.encode())
    assert not report.committed and "has no invoice OLD-001" in report.errors[0].message
    assert counts(org)[1:] == (0, 0, 0)


def test_the_command_dry_runs_and_imports(org, tmp_path, capsys):
    path = tmp_path / "c.xlsx"
    path.write_bytes(xlsx_bytes([["code", "name"], ["0007", "Seven"]]))
    call_command("import_data", "customers", str(path), "--org", org.slug, "--dry-run")
    assert "1 new" in capsys.readouterr().out and counts(org)[0] == 0
    call_command("import_data", "customers", str(path), "--org", org.slug)
    with tenant_context(org):
        assert Customer.objects.get().code == "0007"
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n0008,\n")
    with pytest.raises(SystemExit):
        call_command("import_data", "customers", str(bad), "--org", org.slug)
    assert "Name is required" in capsys.readouterr().out


invoice_rows = st.lists(st.tuples(st.sampled_from(["0042", "0043"]), st.integers(1, 5),
                                  st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2),
                                  st.sampled_from([Decimal(0), Decimal(10), Decimal("20")])),
                        min_size=1, max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=invoice_rows)
def test_imported_balances_equal_the_sum_of_the_files_rows(rows):
    org = make_org()[0]
    do_import(org, "customers", CUSTOMERS.encode())
    expected = defaultdict(Decimal)
    lines = ["number,customer_code,issue_date,description,quantity,unit_price,tax"]
    for n, (code, qty, price, tax) in enumerate(rows):
        lines.append(f"N{n},{code},2025-01-{n + 1:02d},Item,{qty},\"{price:,}\",{tax}")
        net = qty * price
        expected[code] += net + (net * tax / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert do_import(org, "invoices", ("\n".join(lines) + "\n").encode()).committed
    assert {k: v for k, v in balances(org).items() if v} == {k: v for k, v in expected.items() if v}


CREDIT_NOTES = ("number,customer_code,issue_date,amount,tax,invoice_number,reason\n"
                "OLDCN-7,0042,2025-03-30,120.00,20,OLD-001,Damaged goods\n"
                "OLDCN-8,0043,2025-03-31,10.00,0,,Goodwill\n")


def test_it_imports_credit_notes_with_their_numbers_applied_to_their_invoices(org):
    from invoicing.models import CreditNote

    do_import(org, "customers", CUSTOMERS.encode())
    do_import(org, "invoices", INVOICES.encode())
    report = do_import(org, "credit_notes", CREDIT_NOTES.encode())
    assert report.committed, report.errors
    with tenant_context(org):
        note = CreditNote.objects.get(number="OLDCN-7")
        assert (note.subtotal, note.tax_total, note.total) == (Decimal("100.00"), Decimal("20.00"),
                                                               Decimal("120.00"))
        assert note.issue_date.isoformat() == "2025-03-30" and note.amount_applied == Decimal("120.00")
        assert Invoice.objects.get(number="OLD-001").amount_due == Decimal("1130.00")
        assert CreditNote.objects.get(number="OLDCN-8").amount_applied == 0
        assert verify_organization(org).ok
    assert balances(org) == {"0042": Decimal("1130.00"), "0043": Decimal("110.00")}
    before = counts(org), balances(org)
    again = do_import(org, "credit_notes", CREDIT_NOTES.encode())
    assert again.ok and again.new == 0 and (counts(org), balances(org)) == before


@pytest.mark.parametrize(("line", "column", "message"), [
    ("CN-X,0042,2025-03-30,2000.00,0,OLD-001,Too much", "amount", "not yet credited on OLD-001"),
    ("CN-X,0042,2025-03-30,10.00,0,OLD-002,Wrong customer", "invoice_number", "has no invoice OLD-002"),
    ("OLDCN-7,0043,2025-03-30,10.00,0,,Reused number", "number", "already has a credit note OLDCN-7"),
])
def test_a_bad_credit_note_row_is_reported_and_nothing_is_imported(org, line, column, message):
    do_import(org, "customers", CUSTOMERS.encode())
    do_import(org, "invoices", INVOICES.encode())
    do_import(org, "credit_notes", CREDIT_NOTES.encode())
    before = counts(org), balances(org)
    text = "number,customer_code,issue_date,amount,tax,invoice_number,reason\nCN-OK,0043,2025-04-01,1,0,,Fine\n"
    report = do_import(org, "credit_notes", (text + line + "\n").encode())
    assert not report.committed
    assert (report.errors[0].row, report.errors[0].column) == (3, column) and message in report.errors[0].message
    assert (counts(org), balances(org)) == before


def test_numbers_written_meanwhile_by_another_import_refuse_the_whole_file(org, monkeypatch):
    """The checks read the numbers the organization had; if another import writes one of them
    before this one writes, the database's unique constraint refuses, and nothing is imported."""
    from invoicing.importers import InvoiceImporter

    do_import(org, "customers", CUSTOMERS.encode())
    real_begin = InvoiceImporter.begin
    done = []

    def begin_then_someone_imports(self, org_, actor):
        state = real_begin(self, org_, actor)
        if done:
            return state
        done.append(True)
        with tenant_context(org_):
            do_import(org_, "invoices", (b"number,customer_code,issue_date,description,unit_price\n"
                                         b"OLD-002,0042,2025-01-01,Elsewhere,5\n"))
        return state

    monkeypatch.setattr(InvoiceImporter, "begin", begin_then_someone_imports)
    report = do_import(org, "invoices", INVOICES.encode())
    assert not report.committed and "written meanwhile" in report.errors[0].message
    with tenant_context(org):
        assert list(Invoice.objects.values_list("number", flat=True)) == ["OLD-002"]
