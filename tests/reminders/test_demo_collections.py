"""seed_demo's collections hook: a dispute raised from the portal (one line) and a promise of the rest."""

from datetime import timedelta

import pytest

from ledger_site.tenancy import tenant_context
from reminders.demo import DEMO_ADDRESS, seed_demo_collections, seed_demo_one_email_a_day
from reminders.models import CustomerReminderSettings, PromiseToPay
from reminders.models_collections import Dispute, DisputeAttachment, PortalAction
from tests.invoicing_helpers import issued
from tests.reminders.helpers import TODAY, org_with_customer

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_dispute_raised_from_the_portal():
    org, owner, customer = org_with_customer()
    with tenant_context(org):
        invoice = issued(org, customer, lines=(("Design", "1", "300.00", "0"), ("Printing", "1", "80.00", "0")),
                         issue_date=TODAY - timedelta(days=40), due_date=TODAY - timedelta(days=10))
        assert seed_demo_collections(org, owner) == {"portal_disputes": 1, "dispute_attachments": 1}
        d = Dispute.objects.get(invoice=invoice)
        note = DisputeAttachment.objects.get(dispute=d)  # the customer's delivery note, a real PDF
        assert (note.filename, note.content_type, note.from_customer) == ("delivery-note.pdf", "application/pdf", True)
        assert bytes(note.content).startswith(b"%PDF")
        assert d.source == "portal" and d.amount == 80 and d.ip == DEMO_ADDRESS
        assert PromiseToPay.objects.get(invoice=invoice).amount == 300
        assert set(PortalAction.objects.values_list("kind", flat=True)) == {"dispute", "promise"}


def test_the_demo_has_a_customer_reminded_with_one_email_a_day():
    org, owner, customer = org_with_customer()
    with tenant_context(org):
        for days in (10, 20):
            issued(org, customer, lines=(("Design", "1", "300.00", "0"),), issue_date=TODAY - timedelta(days=40),
                   due_date=TODAY - timedelta(days=days))
        assert seed_demo_one_email_a_day(org, owner) == {"one_email_a_day": 1}
        policy = CustomerReminderSettings.objects.get(customer=customer).policy
        assert policy.one_message_per_customer and policy.steps.count() == 5
        assert seed_demo_one_email_a_day(org, owner) == {"one_email_a_day": 0}, "once"
def test_the_demo_has_a_payment_plan_accepted_on_the_link_and_a_logged_call():
    from reminders.demo import seed_demo_plans
    from reminders.models_plans import ContactLog, PaymentPlan

    org, owner, customer = org_with_customer()
    with tenant_context(org):
        first = issued(org, customer, lines=(("Design", "1", "300.00", "0"),),
                       issue_date=TODAY - timedelta(days=40), due_date=TODAY - timedelta(days=10))
        second = issued(org, customer, lines=(("Print", "1", "100.01", "0"),),
                        issue_date=TODAY - timedelta(days=30), due_date=TODAY - timedelta(days=2))
        assert seed_demo_plans(org, owner) == {"payment_plans": 1}
        plan = PaymentPlan.objects.get()
        assert plan.status == "active" and plan.accepted_via == "portal" and plan.accepted_ip == DEMO_ADDRESS
        assert plan.amount == first.amount_due + second.amount_due
        assert sum(plan.instalments.values_list("amount", flat=True)) == plan.amount
        assert ContactLog.objects.filter(customer=customer, kind="call").count() == 1
        assert PortalAction.objects.filter(kind="plan").count() == 1
