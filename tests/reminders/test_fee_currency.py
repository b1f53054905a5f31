"""A policy's fee amounts are in the organization's base currency: an invoice in another currency
gets its reminder but no fee, and says why."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.ledger import customer_balance
from accounts.models_ledger import JournalLine
from accounts.money import round_money
from invoicing.models import Invoice, InvoiceEvent, InvoiceKind
from ledger_site.tenancy import tenant_context
from reminders.late_fees import fee_amount
from reminders.models import FeeType, LateFeeCharge, OutboxStatus, ReminderMessage, ReminderPolicy, ReminderStep
from reminders.outbox import render_message
from reminders.policy import render
from tests.ledger_helpers import flat_rates
from tests.reminders.helpers import TODAY, at, invoice_due, org_with_customer, run

pytestmark = pytest.mark.django_db
# Issue 17: a foreign invoice gets the fee converted at the day's rate; without a rate, no fee, and why.
SKIP_MESSAGE = "No late fee: There is no USD exchange rate for"


def _fee_before_the_rule(fee_type, value, cap, amount_due, currency):
    """fee_amount as it was before the currency rule: a base-currency invoice must get exactly this."""
    if fee_type == FeeType.FIXED:
        return round_money(value, currency)
    fee = round_money(amount_due * value / Decimal(100), currency)
    return min(fee, round_money(cap, currency))


@settings(deadline=None, max_examples=100)
@given(due=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999"), places=2),
       fee_type=st.sampled_from([FeeType.FIXED, FeeType.PERCENT]),
       value=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("25"), places=2),
       cap=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=2),
       base=st.sampled_from(["EUR", "JPY", "KWD"]),
       currency=st.sampled_from(["EUR", "USD", "JPY", "KWD"]))
def test_a_foreign_currency_invoice_never_gets_a_fee_and_a_base_currency_one_gets_todays_amount(
        due, fee_type, value, cap, base, currency):
    fee = fee_amount(fee_type, value, cap, due, currency, base)
    if currency == base:
        assert fee == _fee_before_the_rule(fee_type, value, cap, due, currency)
    else:
        assert fee == 0


def _fixed_fee_at_14(org):
    with tenant_context(org):
        step = ReminderStep.objects.get(policy=ReminderPolicy.objects.get(organization=org, is_default=True),
                                        offset_days=14)
        step.fee_type, step.fee_value = FeeType.FIXED, Decimal("40")
        step.body += "\nA late fee of {late_fee} has been added to your account."
        step.full_clean()
        step.save()


def test_a_usd_invoice_gets_its_reminder_without_the_eur_fee_and_the_skip_is_recorded():
    org, _, customer = org_with_customer(currency="USD")
    assert org.base_currency == "EUR"
    _fixed_fee_at_14(org)
    due = TODAY - timedelta(days=20)
    with tenant_context(org):  # the invoice's own day only: no rate for the fee's day
        flat_rates(org, {"USD": "0.92"}, start=due, end=due)
    invoice = invoice_due(org, customer, due)
    assert invoice.currency == "USD"
    with tenant_context(org):
        balance_before = customer_balance(customer)
    run(at(due + timedelta(days=14)), org)
    with tenant_context(org):
        row = ReminderMessage.objects.get(invoice=invoice, offset_days=14)
        assert row.status == OutboxStatus.SENT
        assert row.late_fee is None and row.late_fee_invoice_id is None
        assert SKIP_MESSAGE in row.result
        assert not Invoice.objects.filter(kind=InvoiceKind.LATE_FEE).exists()
        assert not LateFeeCharge.objects.exists()
        assert not JournalLine.objects.filter(account__system_key="late_fee").exists()
        assert customer_balance(customer) == balance_before
        event = InvoiceEvent.objects.get(invoice=invoice, kind="reminder", message__contains=SKIP_MESSAGE)
        assert "day +14" in event.message
    [message] = [m for m in mail.outbox if row.message_id in m.extra_headers.get("Message-ID", "")]
    assert "late fee" not in message.body.lower() and "late fee" not in message.subject.lower()
    assert "240.00 USD" in message.body  # the rest of the message is intact


def test_the_same_step_on_a_eur_invoice_still_charges_and_announces_40_eur():
    org, _, customer = org_with_customer()
    _fixed_fee_at_14(org)
    due = TODAY - timedelta(days=20)
    invoice = invoice_due(org, customer, due)
    run(at(due + timedelta(days=14)), org)
    with tenant_context(org):
        row = ReminderMessage.objects.get(invoice=invoice, offset_days=14)
        assert row.late_fee == Decimal("40.00") and row.late_fee_invoice.total == Decimal("40.00")
        assert "No late fee" not in row.result
    assert any("A late fee of 40.00 EUR has been added" in m.body for m in mail.outbox)


def test_lines_announcing_a_fee_are_left_out_when_there_is_none():
    text = "Dear {customer},\nA late fee of {late_fee} was added.\nPlease pay {amount_due}."
    values = {"customer": "Acme", "amount_due": "10.00 USD"}
    assert render(text, {**values, "late_fee": ""}) == "Dear Acme,\nPlease pay 10.00 USD."
    assert render(text, {**values, "late_fee": "40.00 EUR"}) == (
        "Dear Acme,\nA late fee of 40.00 EUR was added.\nPlease pay 10.00 USD.")


def test_the_policy_pages_say_the_fee_is_in_the_base_currency():
    org, owner, _ = org_with_customer()
    _fixed_fee_at_14(org)
    client = Client()
    client.force_login(owner)
    with tenant_context(org):
        policy = ReminderPolicy.objects.get(organization=org, is_default=True)
    edit = client.get(reverse("reminder_policy_edit", kwargs={"org_slug": org.slug, "pk": policy.pk}))
    assert edit.status_code == 200
    assert "Fee (amount in EUR, or %)" in edit.text and "Fee cap (EUR)" in edit.text
    detail = client.get(reverse("reminder_policy", kwargs={"org_slug": org.slug, "pk": policy.pk}))
    assert "Late-fee amounts and caps are in EUR" in detail.text
    listing = client.get(reverse("reminder_policies", kwargs={"org_slug": org.slug}))
    assert "+14: 40 EUR" in listing.text


def test_a_subject_that_only_announced_the_fee_falls_back_to_a_plain_one():
    org, _, customer = org_with_customer(currency="USD")
    with tenant_context(org):
        flat_rates(org, {"USD": "0.92"}, start=TODAY - timedelta(days=3), end=TODAY - timedelta(days=3))
    invoice = invoice_due(org, customer, TODAY - timedelta(days=3))
    step = ReminderStep(subject="Late fee of {late_fee} added", body="Please pay {amount_due}.")
    with tenant_context(org):
        subject, body = render_message(invoice, step, TODAY)
    assert subject == f"Reminder: invoice {invoice.number}" and body == "Please pay 240.00 USD."
