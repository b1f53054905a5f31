"""Invoice-level discounts in the invoices import (issue 14): the invoice screen's model (the
invoice's discount_percent, applied after line discounts and before tax, line by line by
invoicing.totals), checked on its row, posted net of the discount, exported and read back."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.ledger_verify import verify_organization
from accounts.models import Customer, CustomerBalance
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from tests.factories import make_org
from tests.imports.helpers import CUSTOMERS, do_import
from tests.invoicing_helpers import draft

pytestmark = pytest.mark.django_db

HEADER = "number,customer_code,issue_date,description,quantity,unit_price,discount,tax,invoice_discount_percent\n"


def new_org():
    org, owner = make_org()
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    return org, owner


def test_a_discounted_invoice_posts_its_discounted_total():
    org, owner = new_org()
    text = HEADER + ("D-1,0042,2025-03-25,Licences,3,100.00,0,20,12.5\n"
                     "D-1,0042,2025-03-25,Setup,1,80,25,0,12.5\n")
    report = do_import(org, "invoices", text.encode(), actor=owner)
    assert report.committed, report.errors
    with tenant_context(org):
        invoice = Invoice.objects.get(number="D-1")
        # 300 + 60 (80 less 25 %) = 360; less 12.5 %: 262.50 + 52.50 = 315.00; tax 20 % of 262.50 = 52.50
        assert (invoice.discount_percent, invoice.subtotal, invoice.discount_total, invoice.tax_total,
                invoice.total) == (Decimal("12.5"), Decimal("360.00"), Decimal("45.00"), Decimal("52.50"),
                                   Decimal("367.50"))
        assert [ln.net_amount for ln in invoice.lines.order_by("position")] == [Decimal("262.50"), Decimal("52.50")]
        assert CustomerBalance.objects.get(customer__code="0042").amount == Decimal("367.50")
        assert verify_organization(org).ok


@pytest.mark.parametrize("value, message", [
    ("100", "The invoice discount is from 0 up to (not including) 100 %"),
    ("-5", "The invoice discount is from 0 up to (not including) 100 %"),
    ("2.12345", "with at most 4 decimals"),
])
def test_a_bad_invoice_discount_is_reported_on_its_row_and_nothing_is_written(value, message):
    org, owner = new_org()
    text = HEADER + f"D-1,0042,2025-03-25,Licences,3,100.00,0,20,{value}\n"
    report = do_import(org, "invoices", text.encode(), actor=owner)
    assert not report.committed
    assert [(e.row, e.column) for e in report.errors] == [(2, "invoice_discount_percent")]
    assert message in report.errors[0].message
    with tenant_context(org):
        assert not Invoice.objects.exists()


def test_lines_of_one_invoice_must_agree_on_the_invoice_discount():
    org, owner = new_org()
    text = HEADER + ("D-1,0042,2025-03-25,Licences,3,100.00,0,20,10\n"
                     "D-1,0042,2025-03-25,Setup,1,80,0,0,5\n")
    report = do_import(org, "invoices", text.encode(), actor=owner)
    assert not report.committed
    assert [(e.row, e.column) for e in report.errors] == [(3, "invoice_discount_percent")]


PERCENT = st.decimals(min_value=0, max_value=Decimal("99.9999"), places=4)
LINE = st.tuples(st.integers(1, 50), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2),
                 PERCENT, st.sampled_from(["0", "7", "20", "19.6"]))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, min_size=1, max_size=4), discount=PERCENT)
def test_imported_totals_are_the_invoice_screens_totals(lines, discount):
    """Whatever the lines and the invoice discount, the imported invoice has the totals the invoice
    screen computes for a draft with the same lines and discount (one rounding rule)."""
    org, owner = new_org()
    text = HEADER + "".join(f"P-1,0042,2025-03-25,Line {n},{q},{p},{d},{t},{discount}\n"
                            for n, (q, p, d, t) in enumerate(lines))
    report = do_import(org, "invoices", text.encode(), actor=owner)
    with tenant_context(org):
        made = draft(org, Customer.objects.get(code="0042"), lines=[(f"Line {n}", str(q), str(p), t)
                                                                    for n, (q, p, _d, t) in enumerate(lines)],
                     discount_percent=discount)
        for line, (_q, _p, d, _t) in zip(made.lines.order_by("position"), lines, strict=True):
            line.discount_percent = d
            line.save()
        from invoicing.services import recompute_totals

        recompute_totals(made)
        made.refresh_from_db()
        if made.total <= 0:
            assert not report.committed
            return
        assert report.committed, report.errors
        imported = Invoice.objects.get(number="P-1")
        assert (imported.subtotal, imported.discount_total, imported.tax_total, imported.total) == (
            made.subtotal, made.discount_total, made.tax_total, made.total)
        assert CustomerBalance.objects.get(customer__code="0042").amount == made.total
