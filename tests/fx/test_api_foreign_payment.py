"""Issue 17: a payment received in another currency than the customer's, through the JSON API
(`POST /api/v1/payments` with `currency`, `rate`, `confirm_rate`): converted at the day's cross rate or
the rate given, the money received shown beside the amount credited; every refusal is a 422 that
records nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from tests.api.helpers import Api, make_key, payment_body
from tests.factories import CustomerFactory, make_org

D = Decimal


@pytest.fixture
def api_books(db):
    org, owner = make_org(base_currency="EUR")
    _key, token = make_key(org, owner)
    with tenant_context(org, owner):
        today = today_in(org)
        ExchangeRate.objects.bulk_create([ExchangeRate(organization=org, currency="USD", day=today, rate=D("0.92")),
                                          ExchangeRate(organization=org, currency="GBP", day=today, rate=D("1.15"))])
        customer = CustomerFactory(organization=org, currency="USD")
    return org, owner, Api(token), customer, today


def _count(org, owner):
    with tenant_context(org, owner):
        return Payment.objects.filter(organization=org).count()


def test_money_in_another_currency_is_converted_at_the_days_cross_rate_or_the_rate_given(api_books):
    org, owner, api, customer, today = api_books
    now = {"allocation": "none", "received_date": today.isoformat()}
    r = api.post("/payments", payment_body(customer.pk, "100.00", "GBP", **now))
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["amount"], body["currency"], body["unapplied"]) == ("125.00", "USD", "125.00")  # 1.15 / 0.92
    assert (body["received_amount"], body["received_currency"], body["conversion_rate"], body["fx_rate"]) == (
        "100.00", "GBP", "1.25", "0.92")
    assert api.get(f"/payments/{body['id']}").json()["received_currency"] == "GBP"
    r = api.post("/payments", payment_body(customer.pk, "100.00", "GBP", **now, rate="1.3"))
    assert r.status_code == 201 and r.json()["amount"] == "130.00" and r.json()["conversion_rate"] == "1.3"
    own = api.post("/payments", payment_body(customer.pk, "10.00", "USD", **now)).json()
    assert own["received_currency"] is None and own["conversion_rate"] is None and own["fx_rate"] == "0.92"


def test_refusals_record_nothing(api_books):
    org, owner, api, customer, today = api_books
    now = {"allocation": "none", "received_date": today.isoformat()}
    before = _count(org, owner)
    far = api.post("/payments", payment_body(customer.pk, "100.00", "GBP", **now, rate="2.5"))
    assert far.status_code == 422 and "2.5" in far.json()["errors"][0]["message"]
    own = api.post("/payments", payment_body(customer.pk, "100.00", "USD", **now, rate="1.1"))
    assert own.status_code == 422
    old = (today - timedelta(days=30)).isoformat()
    missing = api.post("/payments", payment_body(customer.pk, "100.00", "GBP", allocation="none", received_date=old))
    assert missing.status_code == 422 and f"exchange rate for {old}" in missing.json()["errors"][0]["message"]
    gone = api.post("/payments", payment_body(customer.pk, "100.00", "HRK", **now))
    assert gone.status_code == 422 and "withdrawn" in gone.json()["errors"][0]["message"]
    for bad in ("0", "-1.25"):
        r = api.post("/payments", payment_body(customer.pk, "100.00", "GBP", **now, rate=bad))
        assert r.status_code == 422, bad
    assert _count(org, owner) == before
    confirmed = api.post("/payments", payment_body(customer.pk, "100.00", "GBP", **now, rate="2.5",
                                                   confirm_rate=True))
    assert confirmed.status_code == 201 and confirmed.json()["amount"] == "250.00"
    assert _count(org, owner) == before + 1


def test_a_refund_of_money_received_in_another_currency_is_paid_back_in_it(api_books):
    org, owner, api, customer, today = api_books
    paid = api.post("/payments", payment_body(customer.pk, "100.00", "GBP", allocation="none",
                                              received_date=today.isoformat())).json()
    r = api.post(f"/payments/{paid['id']}/refunds", {"amount": "25.00", "refund_date": today.isoformat(),
                                                      "method": "bank_transfer", "reference": "RF-1"})
    assert r.status_code == 201, r.content
    body = r.json()
    # 25.00 USD of the credit, paid back in pounds at the day's 0.92 / 1.15 = 0.8.
    assert (body["amount"], body["currency"], body["paid_amount"], body["paid_currency"], body["conversion_rate"]) \
        == ("25.00", "USD", "20.00", "GBP", "0.8")
    assert api.get(f"/payments/{paid['id']}").json()["unapplied"] == "100.00"
    own = api.post("/payments", payment_body(customer.pk, "10.00", "USD", allocation="none",
                                             received_date=today.isoformat())).json()
    back = api.post(f"/payments/{own['id']}/refunds", {"amount": "10.00", "refund_date": today.isoformat(),
                                                        "method": "bank_transfer"}).json()
    assert back["paid_amount"] is None and back["paid_currency"] is None
