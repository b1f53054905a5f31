"""The issue-18 demo hook: items, a recurring schedule that billed this month, three quotes."""

import pytest

from accounts.ledger_verify import verify_organization
from accounts.management.commands.seed_demo import DEMO_HOOKS
from invoicing.demo_billing import seed_demo_billing
from invoicing.einvoice import missing
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
        # the reverse-charge invoice has what the demo sets up for Peppol (the buyer's VAT id,
        # both endpoint ids, the exemption reason); this bare test organization lacks only its
        # own address, country and VAT id and the IBAN, which `seed_demo` gives Demo Co
        invoice = Invoice.objects.get(reference="PO-DE-2041")
        assert invoice.lines.get().tax_rate.category == "AE"
        assert missing(invoice, "ubl") == [
            "Seller's address (organization settings).", "Seller's country code (organization settings).",
            "Seller's VAT id (organization settings, “tax id”).",
            "Payment means: an IBAN in the bank details (invoice settings) when the invoice was issued."]
        result = verify_organization(org)
        assert result.ok, result.problems
