"""Export → import into a fresh organization gives the same books: per-customer balances, each
invoice's amount due, aging as of past dates, and a ledger that verifies."""

from datetime import date
from decimal import Decimal

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


DISCOUNTED = ("number,customer_code,issue_date,description,quantity,unit_price,tax,invoice_discount_percent\n"
              "OLD-003,0043,2025-03-25,Licences,3,100.00,20,10\n"
              "OLD-003,0043,2025-03-25,Setup,1,80,0,10\n")
DRAFTS = ("number,customer_code,issue_date,description,quantity,unit_price,tax,status\n"
          "Q-77,0042,2025-05-01,Design,3,100.00,20,draft\n")
DISPUTES = ("invoice_number,reason,amount,message\n"
            "OLD-003,wrong amount,50,The setup was free\n"
            "OLD-001,not received,,\n")


def documents(org):
    """What the import carries beyond balances: drafts (customer, dates, totals, lines), invoice
    discounts and unresolved disputes."""
    from reminders.models_collections import Dispute

    with tenant_context(org):
        drafts = sorted((i.customer.code, str(i.issue_date), str(i.total), str(i.discount_percent),
                         [(ln.description, str(ln.quantity), str(ln.unit_price), str(ln.tax_percent))
                          for ln in i.lines.order_by("position")])
                        for i in Invoice.objects.filter(status="draft").select_related("customer"))
        discounts = sorted((i.number, str(i.discount_percent), str(i.discount_total), str(i.total))
                           for i in Invoice.objects.filter(status="issued"))
        disputes = sorted((d.invoice.number, d.reason, str(d.amount), d.whole, d.message)
                          for d in Dispute.objects.select_related("invoice"))
        held = sorted((i.number, str(i.disputed_amount)) for i in Invoice.objects.filter(disputed_at__isnull=False))
    return drafts, discounts, disputes, held


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_drafts_disputes_and_invoice_discounts_survive_the_round_trip(fmt):
    from tests.invoicing_helpers import draft

    source = source_org()
    for kind, text in (("invoices", DISCOUNTED), ("invoices", DRAFTS), ("disputes", DISPUTES)):
        report = do_import(source, kind, text.encode())
        assert report.committed, report.errors
    with tenant_context(source):
        beta = Customer.objects.get(code="0043")
        draft(source, beta, lines=(("Made here", "2", "45.50", "20"),), discount_percent=Decimal("5"))
    target = make_org()[0]
    for kind in ("customers", "invoices", "payments", "credit_notes", "disputes"):
        with tenant_context(source):
            data = (export_csv if fmt == "csv" else export_xlsx)(source, kind)
        report = do_import(target, kind, data, filename=f"{kind}.{fmt}")
        assert report.committed, (kind, report.errors)
    assert books(target) == books(source)
    drafts, discounts, disputes, held = documents(source)
    assert len(drafts) == 2 and len(disputes) == 2 and ("OLD-003", "10.0000", "38.000", "396.000") in discounts
    assert documents(target) == (drafts, discounts, disputes, held)
    with tenant_context(target):
        assert verify_organization(target).ok
    # The same export imported again (into the same organization) adds nothing.
    for kind in ("invoices", "disputes"):
        with tenant_context(source):
            data = (export_csv if fmt == "csv" else export_xlsx)(source, kind)
        for org in (source, target):
            again = do_import(org, kind, data, filename=f"{kind}.{fmt}")
            assert again.committed and again.new == 0, (kind, again.errors)
    assert documents(target) == (drafts, discounts, disputes, held)
