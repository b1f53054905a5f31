"""What the round trip carries beyond amounts (issue 14): an invoice's notes and terms (drafts and
issued ones), and disputes by line (by the lines' positions on the invoice). A property: an invoices
file in the export's own layout, imported, exports back as the same rows."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.imports.exports import export_csv, export_xlsx, number_text
from accounts.ledger_verify import verify_organization
from invoicing.importers import InvoiceImporter
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from reminders.models_collections import Dispute
from tests.factories import make_org
from tests.imports.helpers import CUSTOMERS, INVOICES, do_import

pytestmark = pytest.mark.django_db

NOTED = ("number,customer_code,issue_date,description,quantity,unit_price,tax,status,notes,terms\n"
         'N-1,0042,2025-05-02,Design,2,100.00,20,issued,"Thank you, see you soon.\nSecond line",Net 30 days\n'
         'N-1,0042,2025-05-02,Review,1,50,0,issued,"Thank you, see you soon.\nSecond line",Net 30 days\n'
         "Q-9,0043,2025-05-03,Estimate,1,80,0,draft,Draft note,Pay on receipt\n")


def texts(org):
    with tenant_context(org):
        return sorted((i.number or "draft", i.customer.code, i.status, i.notes, i.terms)
                      for i in Invoice.objects.select_related("customer"))


def fresh(*kinds):
    org = make_org()[0]
    for kind, text in kinds:
        report = do_import(org, kind, text.encode())
        assert report.committed, (kind, report.errors)
    return org


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_notes_and_terms_of_drafts_and_issued_invoices_survive_the_round_trip(fmt):
    source = fresh(("customers", CUSTOMERS), ("invoices", NOTED))
    assert ("N-1", "0042", "issued", "Thank you, see you soon.\nSecond line", "Net 30 days") in texts(source)
    assert ("draft", "0043", "draft", "Draft note", "Pay on receipt") in texts(source)
    target = make_org()[0]
    for kind in ("customers", "invoices"):
        with tenant_context(source):
            data = (export_csv if fmt == "csv" else export_xlsx)(source, kind)
        report = do_import(target, kind, data, filename=f"{kind}.{fmt}")
        assert report.committed, (kind, report.errors)
    assert texts(target) == texts(source)
    with tenant_context(target):
        # The issued invoice's notes are sealed with it (the seal covers notes and terms).
        assert verify_organization(target).ok


def test_lines_of_one_invoice_that_disagree_on_notes_are_refused_on_their_row():
    org = fresh(("customers", CUSTOMERS))
    bad = ("number,customer_code,issue_date,description,quantity,unit_price,tax,status,notes,terms\n"
           "N-1,0042,2025-05-02,Design,2,100.00,20,issued,Thank you,Net 30 days\n"
           "N-1,0042,2025-05-02,Review,1,50,0,issued,Other,Net 30 days\n")
    report = do_import(org, "invoices", bad.encode())
    assert not report.committed
    assert [(e.column, e.message[:25]) for e in report.errors] == [("notes", "Differs from row 2, the f")]
    with tenant_context(org):
        assert not Invoice.objects.exists()


BY_LINE = "invoice_number,reason,amount,message,lines\nOLD-001,wrong amount,,Travel was not agreed,2\n"


def disputes(org):
    with tenant_context(org):
        return sorted((d.invoice.number, d.reason, str(d.amount), d.whole, d.message,
                       sorted(d.invoice.lines.get(pk=i).position for i in d.line_ids))
                      for d in Dispute.objects.select_related("invoice"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_dispute_by_line_survives_the_round_trip_as_the_same_lines(fmt):
    source = fresh(("customers", CUSTOMERS), ("invoices", INVOICES), ("disputes", BY_LINE))
    # OLD-001's second line is Travel, 1 x 50 untaxed: the dispute holds 50 and names that line.
    assert disputes(source) == [("OLD-001", "wrong_amount", "50.000", False, "Travel was not agreed", [2])]
    with tenant_context(source):
        exported = export_csv(source, "disputes").decode()
    assert exported.splitlines()[1] == "OLD-001,wrong_amount,,Travel was not agreed,2"
    target = fresh(("customers", CUSTOMERS), ("invoices", INVOICES))
    with tenant_context(source):
        data = (export_csv if fmt == "csv" else export_xlsx)(source, "disputes")
    report = do_import(target, "disputes", data, filename=f"disputes.{fmt}")
    assert report.committed, report.errors
    assert disputes(target) == disputes(source)
    with tenant_context(target):
        assert Invoice.objects.get(number="OLD-001").disputed_amount == Decimal("50.000")
    # Again: the same lines of the same invoice are already there, nothing new.
    again = do_import(target, "disputes", data, filename=f"disputes.{fmt}")
    assert again.committed and again.new == 0 and again.existing == 1
    assert disputes(target) == disputes(source)


@pytest.mark.parametrize("lines,amount,column,message", [
    ("3", "", "lines", "Invoice OLD-001 has no line 3"),
    ("two", "", "lines", "Lines are given by their positions"),
    ("0", "", "lines", "Lines are given by their positions"),
    ("1", "20", "amount", "Give the disputed lines or an amount"),
])
def test_bad_disputed_lines_are_reported_on_their_row_and_nothing_is_written(lines, amount, column, message):
    org = fresh(("customers", CUSTOMERS), ("invoices", INVOICES))
    text = f"invoice_number,reason,amount,message,lines\nOLD-002,other,,,\nOLD-001,other,{amount},,{lines}\n"
    report = do_import(org, "disputes", text.encode())
    assert not report.committed
    assert [(e.row, e.column) for e in report.errors] == [(3, column)]
    assert report.errors[0].message.startswith(message)
    with tenant_context(org):
        assert not Dispute.objects.exists()


def test_a_quantity_that_reads_like_a_thousand_is_exported_so_that_it_imports_back():
    """1.001 alone in a column could be a thousand and one: the export writes 1.0010."""
    # In the source file a second line (2.5) decides the column's decimal point.
    source = fresh(("customers", CUSTOMERS), ("invoices", "number,customer_code,issue_date,description,quantity,"
                                                          "unit_price\nT-1,0042,2025-05-02,Bolts,1.001,2.50\n"
                                                          "T-1,0042,2025-05-02,Nuts,2.5,1\n"))
    with tenant_context(source):
        assert Invoice.objects.get(number="T-1").lines.get(position=1).quantity == Decimal("1.001")
        data = export_csv(source, "invoices")
    assert ",Bolts,1.0010,2.5," in data.decode()
    # Only the first line, as a file of its own: 1.0010 decides the column alone.
    header, bolts = data.decode().splitlines()[:2]
    target = fresh(("customers", CUSTOMERS), ("invoices", f"{header}\n{bolts}\n"))
    with tenant_context(target):
        assert Invoice.objects.get(number="T-1").lines.get().quantity == Decimal("1.001")


# The property: a file in the export's layout comes back as itself.
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 äéß,;.:'\"()/&", min_size=0, max_size=30)
FIRST = st.sampled_from("ABCDEFGHKLMNPRSTWÄÉ")


def _text(required=False, newlines=False):
    body = WORDS if not newlines else st.lists(WORDS, min_size=1, max_size=3).map("\n".join)
    words = st.tuples(FIRST, body).map(lambda t: (t[0] + t[1]).strip())
    return words if required else st.one_of(st.just(""), words)


LINE = st.tuples(_text(required=True),
                 st.decimals(min_value=Decimal("0.5"), max_value=Decimal("50"), places=3),
                 st.decimals(min_value=Decimal("1"), max_value=Decimal("5000"), places=2),
                 st.sampled_from([Decimal(0), Decimal(10), Decimal("12.5")]),
                 st.sampled_from([Decimal(0), Decimal(7), Decimal(20)]))
INVOICE = st.tuples(st.sampled_from(["0042", "0043"]), st.integers(min_value=1, max_value=600),
                    st.integers(min_value=0, max_value=60), st.sampled_from(["issued", "draft"]),
                    st.sampled_from([Decimal(0), Decimal(5), Decimal("2.5")]), _text(), _text(newlines=True),
                    _text(newlines=True), st.lists(LINE, min_size=1, max_size=3))


def _plain(d: Decimal) -> str:
    return number_text(f"{d.normalize():f}")


def _rows(invoices):
    today = timezone.localdate()
    rows = []
    for n, (code, back, days, status, discount, reference, notes, terms, lines) in enumerate(invoices):
        issue = today - timedelta(days=back)
        for description, qty, price, line_discount, tax in lines:
            rows.append([f"{n:05d}", code, issue.isoformat(), (issue + timedelta(days=days)).isoformat(), "EUR",
                         description, _plain(qty), _plain(price), _plain(line_discount), _plain(tax), reference,
                         status, _plain(discount) if discount else "", notes, terms])
    return rows


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices=st.lists(INVOICE, min_size=1, max_size=4))
def test_an_invoices_file_imported_exports_back_as_the_same_rows(invoices):
    org = fresh(("customers", CUSTOMERS))
    header = [f.name for f in InvoiceImporter.fields]
    rows = _rows(invoices)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    report = do_import(org, "invoices", out.getvalue().encode())
    assert report.committed, report.errors
    with tenant_context(org):
        exported = list(csv.reader(io.StringIO(export_csv(org, "invoices").decode(), newline="")))
        assert verify_organization(org).ok
    assert exported[0] == header
    # Issued invoices come out first, then drafts, each by date: compare as a set of rows in order of lines.
    assert sorted(exported[1:]) == sorted(rows)
