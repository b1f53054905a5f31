"""The batched recurring run (invoicing.recurring_batch) issues what the one-at-a-time path
(run_schedule: save_draft + issue_invoice) issues: the same totals, lines, snapshot, timeline
and posting, and the ledger and seals verify; and it leaves what it does not batch to that path."""

from datetime import UTC, date, datetime

import pytest

from accounts.ledger_verify import verify_organization
from accounts.models import JournalLine
from invoicing.models import Invoice, InvoiceEvent, InvoiceLine
from invoicing.models_recurring import RunAction, RunStatus
from invoicing.recurring import run_due, run_schedule
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing.test_recurring import make_schedule

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 1)


def picture(invoice: Invoice) -> dict:
    """What an issued invoice is, without its ids, number and times."""
    return {
        "fields": [getattr(invoice, f) for f in ("status", "currency", "issue_date", "due_date", "reference", "notes",
                                                 "terms", "subtotal", "discount_total", "tax_total", "total",
                                                 "amount_due", "fx_rate")],
        "snapshot": invoice.snapshot,
        "lines": list(InvoiceLine.objects.filter(invoice=invoice).order_by("position").values_list(
            "position", "description", "quantity", "unit_price", "tax_rate_id", "tax_percent", "gross_amount",
            "net_amount", "tax_amount")),
        "events": sorted(InvoiceEvent.objects.filter(invoice=invoice).values_list("kind", flat=True)),
        "posting": sorted(JournalLine.objects.filter(entry=invoice.issue_entry).values_list(
            "account__system_key", "customer_id", "currency", "amount")),
    }


def test_a_batched_invoice_is_the_one_the_single_path_makes(db):
    org, owner = make_org(name="Batch Co")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Harbour Hotel", code="HH")
        one = make_schedule(org, customer, name="One", start_date=DAY, reference="PO {month}", notes="For {year}")
        batched = make_schedule(org, customer, name="Two", start_date=DAY, reference="PO {month}", notes="For {year}")
        single_runs = run_schedule(one.pk, DAY)
    result = run_due(today=DAY, org_ids=[org.pk])
    with tenant_context(org, owner):
        assert [r.schedule_id for r in result.runs] == [batched.pk]
        assert [r.status for r in result.runs] == [RunStatus.ISSUED]
        first = Invoice.objects.get(pk=single_runs[0].invoice_id)
        second = Invoice.objects.get(pk=result.runs[0].invoice_id)
        assert picture(second) == picture(first)
        assert picture(second)["fields"][4] == "PO March 2026"
        assert (first.number.rsplit("-", 1)[0], int(first.number.rsplit("-", 1)[1])) == ("INV-2026", 1)
        assert (second.number.rsplit("-", 1)[0], int(second.number.rsplit("-", 1)[1])) == ("INV-2026", 2)
        assert verify_organization(org).ok


def test_what_is_not_batched_goes_one_schedule_at_a_time_with_its_reasons(db):
    org, owner = make_org(name="Mixed Co")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        gone = CustomerFactory(organization=org, name="Gone")
        draft = make_schedule(org, customer, name="Draft", start_date=DAY, action=RunAction.DRAFT)
        archived = make_schedule(org, gone, name="Archived", start_date=DAY)
        issued = make_schedule(org, customer, name="Issued", start_date=DAY)
        gone.archived_at = datetime(2026, 2, 1, tzinfo=UTC)
        gone.save(update_fields=["archived_at"])
    result = run_due(today=DAY, org_ids=[org.pk])
    by_schedule = {r.schedule_id: r for r in result.runs}
    assert by_schedule[draft.pk].status == RunStatus.CREATED
    assert by_schedule[archived.pk].status == RunStatus.SKIPPED
    assert "archived" in by_schedule[archived.pk].message
    assert by_schedule[issued.pk].status == RunStatus.ISSUED
    with tenant_context(org, owner):
        assert Invoice.objects.filter(status="issued").count() == 1
        assert verify_organization(org).ok
