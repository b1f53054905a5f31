"""A 10,000-row invoice file with three bad rows: the dry run names exactly those rows and imports
nothing; fixed, everything imports; the same file again adds nothing."""

from decimal import Decimal

import pytest

from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from tests.factories import make_org
from tests.imports.helpers import CUSTOMERS, do_import

pytestmark = pytest.mark.django_db

BAD = {2501: ("unit_price", "12,5,0", "thousands separators are misplaced"),
       6003: ("issue_date", "31.02.2025", "is not a date"),
       9998: ("customer_code", "NOPE", "No customer has the code NOPE")}


def rows(with_bad: bool) -> bytes:
    out = ["number,customer_code,issue_date,description,quantity,unit_price,tax"]
    previous = {}
    for n in range(10_000):
        row_number = n + 2  # the header is row 1
        invoice = f"L{n // 2:05d}"
        cells = {"customer_code": "0042" if n % 3 else "0043", "issue_date": f"{n % 28 + 1:02d}.01.2025",
                 "unit_price": f"{n % 97 + 1}.50"}
        if n % 2:  # the second line of an invoice: same customer and date as the first (a bad customer too)
            cells["customer_code"], cells["issue_date"] = previous["customer_code"], previous["issue_date"]
        if with_bad and row_number in BAD:
            column, value, _ = BAD[row_number]
            cells[column] = value
        previous = cells
        out.append(f'{invoice},{cells["customer_code"]},{cells["issue_date"]},Line {n},1,"{cells["unit_price"]}",20')
    return ("\n".join(out) + "\n").encode()


def test_a_large_file_with_three_bad_rows():
    org = make_org()[0]
    do_import(org, "customers", CUSTOMERS.encode())
    report = do_import(org, "invoices", rows(with_bad=True))
    found = {e.row: (e.column, e.value) for e in report.errors}
    assert report.error_count == 3 and not report.committed
    assert found == {row: (column, value) for row, (column, value, _) in BAD.items()}
    for e in report.errors:
        assert BAD[e.row][2] in e.message
    with tenant_context(org):
        assert Invoice.objects.count() == 0
    report = do_import(org, "invoices", rows(with_bad=False))
    assert report.committed and report.new == 5000 and report.rows == 10_000
    with tenant_context(org):
        assert Invoice.objects.count() == 5000
        total = sum(Invoice.objects.values_list("total", flat=True), Decimal(0))
    again = do_import(org, "invoices", rows(with_bad=False))
    assert again.ok and again.new == 0 and again.existing == 5000
    with tenant_context(org):
        assert Invoice.objects.count() == 5000
        assert sum(Invoice.objects.values_list("total", flat=True), Decimal(0)) == total
