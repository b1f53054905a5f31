"""Issue 17 item 5: a step's own late fee per currency, set in the policy editor ("Fees in other
currencies": "USD 45", one currency a line). The fee it sets is the one charged on an invoice in that
currency (reminders.late_fees.step_fee); other currencies get the converted amount. Bad lines are
refused by name and change nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models_org import today_in
from ledger_site.tenancy import tenant_context
from reminders.late_fees import step_fee
from reminders.models import FeeType, ReminderPolicy, ReminderStep, StepCurrencyFee
from tests.ledger_helpers import flat_rates
from tests.reminders.helpers import org_with_customer

pytestmark = pytest.mark.django_db
D = Decimal


def _editor(org, owner):
    client = Client()
    client.force_login(owner)
    with tenant_context(org):
        policy = ReminderPolicy.objects.get(organization=org, is_default=True)
        step = ReminderStep.objects.get(policy=policy, offset_days=14)
        step.fee_type, step.fee_value = FeeType.FIXED, D("40")
        step.save()
    return client, reverse("reminder_policy_edit", kwargs={"org_slug": org.slug, "pk": policy.pk}), step


def _form_data(page) -> dict:
    """Every field of the editor as rendered (what a browser would send back unchanged)."""
    form, formset = page.context["form"], page.context["formset"]
    data = {}
    for bound in [*form, *formset.management_form]:
        data[bound.html_name] = bound.value() if bound.value() is not None else ""
    for step_form in formset.forms:
        for bound in step_form:
            value = bound.value()
            if isinstance(value, bool):
                if value:
                    data[bound.html_name] = "on"
                continue
            data[bound.html_name] = "" if value is None else value
    return data


def _fees_field(page, step):
    formset = page.context["formset"]
    return next(f for f in formset.forms if f.instance.pk == step.pk)["currency_fees"].html_name


def test_fees_per_currency_are_saved_shown_and_charged():
    org, owner, _customer = org_with_customer(currency="USD")
    client, url, step = _editor(org, owner)
    page = client.get(url)
    assert "Fees in other currencies" in page.text
    data = _form_data(page)
    data[_fees_field(page, step)] = "USD 45\nJPY 6500\n\nKWD 12.5"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["formset"].errors
    with tenant_context(org):
        rows = {r.currency: (r.fee_value, r.fee_cap) for r in StepCurrencyFee.objects.filter(step=step)}
        assert rows == {"USD": (D("45.00"), None), "JPY": (D("6500"), None), "KWD": (D("12.500"), None)}
        today = today_in(org)
        flat_rates(org, {"USD": "0.92", "GBP": "1.16"}, start=today - timedelta(days=3), end=today)
        step.refresh_from_db()
        assert step_fee(step, org, "USD", D("500"), today) == (D("45.00"), None)
        assert step_fee(step, org, "GBP", D("500"), today) == (D("34.48"), None)  # 40 EUR / 1.16
    page = client.get(url)
    assert "JPY 6500\nKWD 12.500\nUSD 45.00" in page.text
    data = _form_data(page)
    data[_fees_field(page, step)] = "USD 45"  # JPY and KWD removed
    assert client.post(url, data).status_code == 302
    with tenant_context(org):
        assert set(StepCurrencyFee.objects.filter(step=step).values_list("currency", flat=True)) == {"USD"}


def test_a_percentage_step_sets_its_cap_per_currency():
    org, owner, _customer = org_with_customer(currency="USD")
    client, url, step = _editor(org, owner)
    page = client.get(url)
    data = _form_data(page)
    prefix = _fees_field(page, step).rsplit("-", 1)[0]
    data.update({f"{prefix}-fee_type": FeeType.PERCENT, f"{prefix}-fee_value": "5", f"{prefix}-fee_cap": "30",
                 f"{prefix}-currency_fees": "USD 20"})
    assert client.post(url, data).status_code == 302
    with tenant_context(org):
        row = StepCurrencyFee.objects.get(step=step)
        assert (row.fee_value, row.fee_cap) == (None, D("20.00"))
        step.refresh_from_db()
        today = today_in(org)
        flat_rates(org, {"USD": "0.92"}, start=today - timedelta(days=3), end=today)
        assert step_fee(step, org, "USD", D("1000"), today) == (D("20.00"), None)  # 5 % = 50, capped at 20


@pytest.mark.parametrize("text, message", [
    ("XQZ 5", "not an active ISO 4217"),
    ("HRK 5", "withdrawn"),
    ("EUR 5", "is the organization&#x27;s currency"),
    ("USD 4\nUSD 5", "USD is listed twice"),
    ("USD -3", "an amount above zero"),
    ("USD", "an amount above zero"),
    ("USD 1.234", "USD"),
    ("JPY 10.5", "JPY"),
])
def test_bad_lines_are_refused_by_name_and_change_nothing(text, message):
    org, owner, _customer = org_with_customer(currency="USD")
    client, url, step = _editor(org, owner)
    with tenant_context(org):
        StepCurrencyFee.objects.create(organization=org, step=step, currency="USD", fee_value=D("45"))
    page = client.get(url)
    data = _form_data(page)
    data[_fees_field(page, step)] = text
    response = client.post(url, data)
    assert response.status_code == 200
    assert message in response.text and "Line " in response.text
    with tenant_context(org):
        assert list(StepCurrencyFee.objects.filter(step=step).values_list("currency", "fee_value")) == [
            ("USD", D("45.000"))]
