"""The demo hook: a year of invoices for the demo organization, deterministic and fast."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.demo_data import demo_customers
from accounts.ledger_verify import verify_organization
from accounts.management.commands.seed_demo import DEMO_HOOKS
from accounts.models import Customer
from invoicing.demo import seed_demo_invoices
from invoicing.models import CreditNote, Invoice, InvoiceEvent
from ledger_site.tenancy import tenant_context
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def demo_org():
    org, owner = make_org()
    with tenant_context(org, owner):
        for n, fields in enumerate(demo_customers()):
            Customer.objects.create(organization=org, code=f"D{n:03d}", currency="EUR", **fields)
    return org, owner


def summary(org):
    return (list(Invoice.objects.filter(organization=org).order_by("pk").values_list(
                "status", "issue_date", "total", "amount_due", "customer__name")),
            list(CreditNote.objects.filter(organization=org).order_by("pk").values_list("issue_date", "total")))


def test_demo_invoices_are_registered_realistic_and_verify():
    assert seed_demo_invoices in DEMO_HOOKS
    org, owner = demo_org()
    with tenant_context(org, owner):
        started = time.monotonic()
        counts = seed_demo_invoices(org, owner)
        elapsed = time.monotonic() - started
        today = timezone.localdate()
        invoices = Invoice.objects.filter(organization=org)
        assert counts["issued"] >= 150 and counts["drafts"] == 8
        assert counts["void"] >= 1 and counts["credit_notes"] >= 5 and counts["written_off"] >= 1
        assert invoices.filter(status="void").count() == counts["void"]
        assert CreditNote.objects.filter(organization=org).count() == counts["credit_notes"]
        dates = invoices.exclude(status="draft").values_list("issue_date", flat=True)
        assert min(dates) < today - timedelta(days=300) and max(dates) <= today
        assert len({d.month for d in dates}) == 12  # spread over the year
        assert invoices.filter(disputed_at__isnull=False).exists()
        # timelines carry the documents' dates, not the seeding moment
        first = invoices.exclude(status="draft").order_by("issue_date").first()
        assert InvoiceEvent.objects.get(invoice=first, kind="issued").at.date() == first.issue_date
        result = verify_organization(org)
        assert result.ok, result.problems
    assert elapsed < 60  # < 20 s on an idle machine; generous here for loaded CI runners


def test_demo_invoices_are_deterministic():
    runs = []
    for _ in range(2):
        org, owner = demo_org()
        with tenant_context(org, owner):
            seed_demo_invoices(org, owner, months=3)
            runs.append(summary(org))
    assert runs[0] == runs[1] and runs[0][0]
