"""The lean issuing path (invoicing.issuing): what it reads under the lock is what it issues.

The rows move in few round trips, the number last (tests/invoicing/test_issue_late_locks.py);
these tests pin down the cases where reading everything at once could go wrong: stale drafts,
another year's series, another organization's invoice, and a second issue that must not take a
number.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import JournalEntry, JournalLine
from invoicing.models import Invoice, InvoiceLine, InvoiceSettings, InvoiceStatus, NumberSeries, TaxRate
from invoicing.services import InvoiceError, issue_invoice
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft

pytestmark = pytest.mark.django_db


def test_a_rate_changed_after_the_draft_was_saved_is_issued_at_its_new_percent(acme):
    with acme.ctx():
        inv = draft(acme.org, acme.customer, lines=(("Consulting", "2", "100.00", "20"),))
        assert inv.total == Decimal("240.00")
        TaxRate.objects.filter(organization=acme.org, percent=Decimal("20")).update(percent=Decimal("10"))
        issued = issue_invoice(inv)
        assert issued.total == Decimal("220.00") and issued.amount_due == Decimal("220.00")
        stored = Invoice.objects.get(pk=inv.pk)
        assert (stored.tax_total, stored.total) == (Decimal("20.00"), Decimal("220.00"))
        line = InvoiceLine.objects.get(invoice=inv)
        assert (line.tax_percent, line.tax_amount) == (Decimal("10"), Decimal("20.00"))
        assert stored.snapshot["lines"][0]["tax"] == "20.00"
        ar = JournalLine.objects.get(entry=stored.issue_entry, customer=acme.customer)
        assert ar.amount == Decimal("220.00")


def test_a_stale_draft_object_is_issued_as_stored_not_as_passed(acme):
    with acme.ctx():
        inv = draft(acme.org, acme.customer)
        Invoice.objects.filter(pk=inv.pk).update(issue_date=date(2026, 1, 5), due_date=date(2026, 2, 4),
                                                 reference="PO-77")
        issued = issue_invoice(inv)  # `inv` still carries the old dates in memory
        assert issued.issue_date == date(2026, 1, 5) and issued.reference == "PO-77"
        assert issued.number == "INV-2026-00001"
        assert Invoice.objects.get(pk=inv.pk).issue_entry.effective_date == date(2026, 1, 5)


def test_issue_date_in_another_year_takes_that_years_series(acme):
    with acme.ctx():
        this_year = draft(acme.org, acme.customer, issue_date=date(2026, 3, 1), due_date=date(2026, 3, 31))
        last_year = draft(acme.org, acme.customer, issue_date=date(2026, 3, 1), due_date=date(2026, 3, 31))
        assert issue_invoice(this_year).number == "INV-2026-00001"
        moved = issue_invoice(last_year, issue_date=date(2025, 12, 30))
        assert moved.number == "INV-2025-00001"
        assert moved.due_date == date(2026, 1, 29)  # the same 30 days of terms
        assert {(s.year, s.last_number) for s in NumberSeries.objects.filter(organization=acme.org)} == {
            (2026, 1), (2025, 1)}


def test_without_yearly_reset_one_series_runs_across_years(acme):
    with acme.ctx():
        InvoiceSettings.objects.filter(organization=acme.org).update(reset_yearly=False, number_includes_year=False)
        a = draft(acme.org, acme.customer, issue_date=date(2025, 12, 1), due_date=date(2025, 12, 31))
        b = draft(acme.org, acme.customer, issue_date=date(2026, 1, 2), due_date=date(2026, 2, 1))
        assert (issue_invoice(a).number, issue_invoice(b).number) == ("INV-00001", "INV-00002")
        assert NumberSeries.objects.get(organization=acme.org).year == 0


def test_a_second_issue_takes_no_number_and_posts_nothing(acme):
    with acme.ctx():
        inv = draft(acme.org, acme.customer)
        issue_invoice(inv)
        with pytest.raises(InvoiceError, match="already Issued"):
            issue_invoice(inv)
        assert NumberSeries.objects.get(organization=acme.org, kind="invoice").last_number == 1
        assert JournalEntry.objects.filter(organization=acme.org).count() == 1


def test_another_organizations_invoice_cannot_be_issued_from_here(acme):
    other_org, other_owner = make_org(name="Other Co")
    with tenant_context(other_org, other_owner):
        other_customer = CustomerFactory(organization=other_org, name="Theirs")
        theirs = draft(other_org, other_customer)
    with acme.ctx():
        with pytest.raises(InvoiceError, match="does not exist"):
            issue_invoice(theirs)
        assert not NumberSeries.objects.exists() and not JournalEntry.objects.exists()
    with tenant_context(other_org, other_owner):
        assert Invoice.objects.get(pk=theirs.pk).status == InvoiceStatus.DRAFT
        assert not NumberSeries.objects.filter(organization=other_org).exists()


def test_a_refused_issue_gives_its_number_back(acme):
    with acme.ctx():
        archived = draft(acme.org, acme.customer)
        type(acme.customer).objects.filter(pk=acme.customer.pk).update(archived_at=timezone.now())
        with pytest.raises(InvoiceError, match="archived"):
            issue_invoice(archived)
        assert not NumberSeries.objects.filter(organization=acme.org, last_number__gt=0).exists()
        assert Invoice.objects.get(pk=archived.pk).status == InvoiceStatus.DRAFT
