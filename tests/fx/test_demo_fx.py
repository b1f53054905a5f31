"""Issue 17 demo data: a dollar and a pound customer with invoices, and rates to show them in euros."""

import pytest

from accounts.ledger_verify import verify_organization
from accounts.management.commands.seed_demo import DEMO_HOOKS
from accounts.models import Customer, ExchangeRate
from invoicing.demo_fx import seed_demo_foreign
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from reports.aging import aging, query_for
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def test_demo_has_foreign_customers_with_rates_and_a_base_currency_aging():
    assert seed_demo_foreign in DEMO_HOOKS
    org, owner = make_org()
    with tenant_context(org, owner):
        counts = seed_demo_foreign(org, owner)
        assert counts["foreign_invoices"] == 6 and counts["rates"] > 400
        assert set(Customer.objects.filter(organization=org).values_list("currency", flat=True)) == {"USD", "GBP"}
        assert set(Invoice.objects.filter(organization=org).values_list("currency", flat=True)) == {"USD", "GBP"}
        assert ExchangeRate.objects.filter(organization=org, currency="JPY").exists()
        report = aging(org, query_for(org, org.today(), in_base=True))
        assert report.in_base and report.everything.total > 0 and len(report.rows) == 2
        assert verify_organization(org).ok


def test_demo_has_a_payment_received_in_euros_for_a_dollar_invoice_and_a_revaluation():
    from accounts.models import JournalEntry
    from payments.demo import seed_demo_cross_currency
    from payments.models import Payment

    assert seed_demo_cross_currency in DEMO_HOOKS
    org, owner = make_org()
    with tenant_context(org, owner):
        seed_demo_foreign(org, owner)
        counts = seed_demo_cross_currency(org, owner)
        assert counts["cross_currency_payments"] == 1
        payment = Payment.objects.get(organization=org, received_currency="EUR", reference="SEPA EUR for USD invoice")
        assert payment.currency == "USD" and payment.amount_allocated > 0
        # the deposit sent in euros by mistake is paid back in euros, in full
        assert counts["cross_currency_refunds"] == 1
        deposit = Payment.objects.get(organization=org, reference="EUR deposit sent by mistake")
        assert deposit.received_currency == "EUR"
        assert deposit.amount_refunded == deposit.amount and deposit.unapplied == 0
        assert deposit.refunds.get().paid_currency == "EUR"
        assert counts["revaluations"] == 1
        assert JournalEntry.objects.filter(organization=org, idempotency_key__startswith="revaluation:").count() == 2
        assert verify_organization(org).ok
