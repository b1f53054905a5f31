"""Late fees: their own document, posted once per step, the exact amount, on the customer's balance."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.ledger import customer_balance
from invoicing.models import Invoice, InvoiceKind, InvoiceStatus
from ledger_site.tenancy import tenant_context
from reminders.late_fees import charge_late_fee, fee_amount
from reminders.models import FeeType, LateFeeCharge, ReminderMessage, ReminderPolicy, ReminderStep
from tests.reminders.helpers import TODAY, at, invoice_due, org_with_customer, run

pytestmark = pytest.mark.django_db


def _add_fee(org, offset, fee_type, value, cap=None):
    with tenant_context(org):
        step = ReminderStep.objects.get(policy=ReminderPolicy.objects.get(organization=org, is_default=True),
                                        offset_days=offset)
        step.fee_type, step.fee_value, step.fee_cap = fee_type, Decimal(value), cap and Decimal(cap)
        step.body += "\nA late fee of {late_fee} has been added."
        step.full_clean()
        step.save()


def test_the_fee_is_posted_once_with_the_exact_amount_as_an_open_late_fee_invoice_on_the_balance():
    org, _, customer = org_with_customer()
    _add_fee(org, 14, FeeType.PERCENT, "1.5", "50")
    due = TODAY + timedelta(days=2)
    invoice = invoice_due(org, customer, due, price="333.33")  # 666.66 + 20% = 799.99
    with tenant_context(org):
        balance_before = customer_balance(customer)
    day = due + timedelta(days=13)
    while day <= due + timedelta(days=20):
        for hour in (9, 15):
            run(at(day, hour), org)
        day += timedelta(days=1)
    with tenant_context(org):
        fees = list(Invoice.objects.filter(kind=InvoiceKind.LATE_FEE))
        assert len(fees) == 1
        fee = fees[0]
        assert fee.total == Decimal("12.00")  # 1.5% of 799.99 = 11.99985 -> 12.00
        assert fee.related_invoice_id == invoice.pk and fee.status == InvoiceStatus.ISSUED
        assert fee.amount_due == Decimal("12.00") and fee.number.startswith("LF-")
        assert customer_balance(customer) == balance_before + Decimal("12.00")
        assert Invoice.objects.open().filter(pk=fee.pk).exists()
        invoice.refresh_from_db()
        assert invoice.total == Decimal("799.99") and invoice.amount_due == Decimal("799.99"), "never edited"
        row = ReminderMessage.objects.get(invoice=invoice, offset_days=14)
        assert row.late_fee_invoice_id == fee.pk
        assert LateFeeCharge.objects.get().fee_invoice_id == fee.pk
        assert not ReminderMessage.objects.filter(invoice=fee).exists(), "late fees get no reminders of their own"
    message = [m for m in mail.outbox if "14" in m.subject or "12.00 EUR" in m.body]
    assert any("A late fee of 12.00 EUR has been added." in m.body for m in message)


def test_the_cap_limits_a_percentage_fee_and_charging_twice_returns_the_first_charge():
    org, _, customer = org_with_customer()
    invoice = invoice_due(org, customer, TODAY - timedelta(days=20), price="10000.00", tax=None)
    amount = fee_amount(FeeType.PERCENT, Decimal("5"), Decimal("250"), invoice.amount_due, "EUR", "EUR")
    assert amount == Decimal("250.00")
    with tenant_context(org):
        first = charge_late_fee(invoice, 14, amount, TODAY)
        second = charge_late_fee(invoice, 14, amount, TODAY)
        assert first.pk == second.pk
        assert Invoice.objects.filter(kind=InvoiceKind.LATE_FEE).count() == 1
        assert customer_balance(customer) == Decimal("20250.00")


def test_a_step_skipped_by_the_catch_up_rule_charges_no_fee():
    org, _, customer = org_with_customer()
    _add_fee(org, 7, FeeType.FIXED, "15")
    due = TODAY + timedelta(days=1)
    invoice_due(org, customer, due)
    run(at(due + timedelta(days=15)), org)  # +7 is skipped, +14 sent
    with tenant_context(org):
        assert not Invoice.objects.filter(kind=InvoiceKind.LATE_FEE).exists()


@settings(deadline=None, max_examples=60)
@given(due=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999"), places=2),
       percent=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("25"), places=2),
       cap=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=2),
       currency=st.sampled_from(["EUR", "JPY", "KWD"]))
def test_a_percentage_fee_is_exact_in_the_currency_and_never_above_the_cap(due, percent, cap, currency):
    from accounts.money import check_exact, round_money

    fee = fee_amount(FeeType.PERCENT, percent, cap, due, currency, currency)
    assert check_exact(fee, currency) == fee
    assert fee <= round_money(cap, currency)
    assert fee >= 0
