"""Export → import into a fresh organization gives the same books: per-customer balances, each
invoice's amount due, aging as of past dates, and a ledger that verifies."""

from datetime import date

import pytest
from django.utils import timezone

from accounts.imports.exports import _value, export_csv, export_xlsx
from accounts.ledger_verify import verify_organization
from accounts.models import Customer, CustomerBalance
from invoicing.models import Invoice
from ledger_site.exports import cell
from ledger_site.tenancy import tenant_context
from reports.aging import aging, query_for
from tests.factories import make_org
from tests.imports.helpers import CUSTOMERS, INVOICES, PAYMENTS, do_import

pytestmark = pytest.mark.django_db

CREDIT_NOTES = ("number,customer_code,issue_date,amount,tax,invoice_number,reason\n"
                "OCN-1,0042,2025-04-05,60.00,20,OLD-001,'=Dented\n")
MORE_PAYMENTS = "customer_code,received_date,amount,reference,invoices\n0043,2025-04-09,30.00,ADV,none\n"


def books(org):
    with tenant_context(org):
        balances = {b.customer.code: b.amount for b in CustomerBalance.objects.select_related("customer")}
        due = dict(Invoice.objects.values_list("number", "amount_due"))
        return balances, due


def source_org():
    org = make_org()[0]
    for kind, text in (("customers", CUSTOMERS), ("invoices", INVOICES), ("payments", PAYMENTS),
                       ("credit_notes", CREDIT_NOTES), ("payments", MORE_PAYMENTS)):
        report = do_import(org, kind, text.encode())
        assert report.committed, report.errors
    return org


def aging_figures(org, day):
    with tenant_context(org):
        report = aging(org, query_for(org, day))
        return sorted((row.code, [str(a) for a in row.buckets], str(row.unapplied), str(row.total))
                      for row in report.rows)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_into_a_fresh_organization_gives_the_same_books(fmt):
    source = source_org()
    target = make_org()[0]
    for kind in ("customers", "invoices", "payments", "credit_notes"):
        with tenant_context(source):
            data = (export_csv if fmt == "csv" else export_xlsx)(source, kind)
        report = do_import(target, kind, data, filename=f"{kind}.{fmt}")
        assert report.committed, (kind, report.errors)
    assert books(target) == books(source)
    with tenant_context(target):
        assert verify_organization(target).ok
        assert Customer.objects.get(code="0043").billing_emails == ""
    for day in (date(2025, 3, 31), date(2025, 4, 3), date(2025, 4, 30), date(2025, 6, 1), timezone.localdate()):
        assert aging_figures(target, day) == aging_figures(source, day)


def test_formula_like_cells_are_written_as_text():
    source = source_org()
    with tenant_context(source):
        text = export_csv(source, "credit_notes").decode()
    assert "'=Dented" in text
    def written(v):
        return str(cell(_value(v)))
    assert written("-12.50") == "-12.50" and written("@x") == "'@x" and written("+1 555") == "'+1 555"
