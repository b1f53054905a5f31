"""The issue-18 demo hook: items, a recurring schedule that billed this month, three quotes."""

import pytest

from accounts.ledger_verify import verify_organization
from accounts.management.commands.seed_demo import DEMO_HOOKS
from invoicing.demo_billing import seed_demo_billing
from invoicing.einvoice import check_ubl_xsd, missing, ubl_xml
from invoicing.models import Invoice
from invoicing.models_items import Item
from invoicing.models_quotes import Quote
from invoicing.models_recurring import RecurringRun
from ledger_site.tenancy import tenant_context
from tests.invoicing.test_demo import demo_org

pytestmark = pytest.mark.django_db


def test_the_demo_shows_items_a_schedule_and_quotes():
    assert seed_demo_billing in DEMO_HOOKS
    org, owner = demo_org()
    with tenant_context(org, owner):
        assert seed_demo_billing(org, owner) == {"items": 6, "schedules": 2, "quotes": 3, "einvoices": 1}
        assert Item.objects.count() == 6
        run = RecurringRun.objects.get()  # the retainer's; the quote's schedule bills from its next run
        assert run.status == "issued" and "Monthly bookkeeping, " in run.invoice.lines.first().description
        assert sorted(Quote.objects.values_list("status", flat=True)) == ["accepted", "draft", "sent"]
        assert Quote.objects.get(status="accepted").invoice is not None
        assert Quote.objects.get(status="accepted").schedule is not None
        # the reverse-charge invoice offers both e-invoices, and its UBL validates
        invoice = Invoice.objects.get(reference="PO-DE-2041")
        assert missing(invoice, "ubl") == []
        check_ubl_xsd(ubl_xml(invoice))
        result = verify_organization(org)
        assert result.ok, result.problems
