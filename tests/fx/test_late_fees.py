"""Issue 17 item 5: late fees in any currency: a step's own fee for the currency, else the base
fee (and cap) converted at the day's rate and rounded to the currency's minor unit; only a missing
rate leaves an invoice without its fee, and says which currency and day."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from accounts import fx
from accounts.models import RateSource
from ledger_site.tenancy import tenant_context
from reminders.late_fees import step_fee
from reminders.models import FeeType, ReminderMessage, ReminderPolicy, ReminderStep, StepCurrencyFee
from tests.reminders.helpers import TODAY, at, invoice_due, org_with_customer, run

pytestmark = pytest.mark.django_db
D = Decimal


def _step(org, fee_type=FeeType.FIXED, value="40", cap=None):
    with tenant_context(org):
        step = ReminderStep.objects.get(policy=ReminderPolicy.objects.get(organization=org, is_default=True),
                                        offset_days=14)
        step.fee_type, step.fee_value, step.fee_cap = fee_type, D(value), D(cap) if cap else None
        step.body += "\nA late fee of {late_fee} has been added to your account."
        step.full_clean()
        step.save()
        return step


def _rate(org, currency, rate, day):
    with tenant_context(org):
        fx.save_rates(org, [fx.RateRow(day, currency, D(rate))], RateSource.MANUAL, confirm=True)


@pytest.mark.parametrize("currency, rate, fee", [
    ("USD", "0.92", D("43.48")),      # 40 EUR / 0.92
    ("JPY", "0.0062", D("6452")),     # 0 decimals
    ("KWD", "2.9876", D("13.389")),   # 3 decimals
])
def test_a_fixed_fee_is_converted_and_rounded_per_currency(currency, rate, fee):
    org, _, _customer = org_with_customer(currency=currency)
    step = _step(org)
    _rate(org, currency, rate, TODAY)
    with tenant_context(org):
        assert step_fee(step, org, currency, D("1000"), TODAY) == (fee, None)
        assert step_fee(step, org, "EUR", D("1000"), TODAY) == (D("40.00"), None)


def test_a_percentage_fee_keeps_its_cap_converted():
    org, _, _customer = org_with_customer(currency="JPY")
    step = _step(org, FeeType.PERCENT, "5", "50")
    _rate(org, "JPY", "0.0062", TODAY)
    with tenant_context(org):
        assert step_fee(step, org, "JPY", D("100000"), TODAY)[0] == D("5000")
        assert step_fee(step, org, "JPY", D("1000000"), TODAY)[0] == D("8065")  # cap 50 EUR = 8064.5 → 8065


def test_the_steps_own_fee_for_a_currency_wins_over_conversion():
    org, _, _customer = org_with_customer(currency="USD")
    step = _step(org)
    with tenant_context(org):
        StepCurrencyFee.objects.create(organization=org, step=step, currency="USD", fee_value=D("45"))
        assert step_fee(step, org, "USD", D("1000"), TODAY) == (D("45.00"), None)  # no rate needed


def test_a_usd_invoice_is_charged_its_fee_in_usd_and_the_message_says_so():
    org, _, customer = org_with_customer(currency="USD")
    _step(org)
    due = TODAY - timedelta(days=20)
    _rate(org, "USD", "0.92", due)  # the invoice is posted at its issue day's rate
    invoice = invoice_due(org, customer, due)
    _rate(org, "USD", "0.92", due + timedelta(days=10))
    run(at(due + timedelta(days=14)), org)
    with tenant_context(org):
        row = ReminderMessage.objects.get(invoice=invoice, offset_days=14)
        assert row.late_fee == D("43.48")
        assert row.late_fee_invoice.currency == "USD" and row.late_fee_invoice.total == D("43.48")
    assert any("A late fee of 43.48 USD has been added" in m.body for m in mail.outbox)


def test_without_a_rate_there_is_no_fee_and_the_reason_names_currency_and_day():
    org, _, customer = org_with_customer(currency="USD")
    step = _step(org)
    day = TODAY - timedelta(days=6)
    with tenant_context(org):
        fee, why = step_fee(step, org, "USD", D("1000"), day)
    assert fee == 0 and f"There is no USD exchange rate for {day.isoformat()}" in why
