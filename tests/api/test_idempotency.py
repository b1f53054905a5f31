"""Idempotency-Key: the same key and body replays the first response; another body gets 409;
twenty concurrent duplicates act once."""

import json

import pytest
from django.test import Client

from accounts.models import Customer, IdempotentRequest, JournalEntry
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from tests.api.helpers import Api, draft_body, make_key, payment_body
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org


def _customer(org):
    with tenant_context(org):
        return CustomerFactory(organization=org)


def test_the_same_key_and_body_records_once_and_replays_the_first_response(api_shop):
    customer = _customer(api_shop.org)
    body = payment_body(customer.pk, "75.00", allocation="none")
    first = api_shop.api.post("/payments", body, headers={"Idempotency-Key": "pay-1"})
    again = api_shop.api.post("/payments", body, headers={"Idempotency-Key": "pay-1"})
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    # Key order and spacing do not make another body.
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    third = api_shop.api.post("/payments", raw=reordered, headers={"Idempotency-Key": "pay-1"})
    assert third.content == first.content
    with tenant_context(api_shop.org):
        assert Payment.objects.count() == 1
        assert JournalEntry.objects.filter(source_type="payments.payment").count() == 1


def test_the_same_key_with_another_body_or_operation_is_409_and_changes_nothing(api_shop):
    customer = _customer(api_shop.org)
    api_shop.api.post("/payments", payment_body(customer.pk, "75.00", allocation="none"),
                  headers={"Idempotency-Key": "pay-2"})
    r = api_shop.api.post("/payments", payment_body(customer.pk, "76.00", allocation="none"),
                      headers={"Idempotency-Key": "pay-2"})
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "Idempotency-Key", "code": "idempotency_key_reused",
                                   "message": r.json()["errors"][0]["message"]}]
    r = api_shop.api.post("/customers", {"name": "Other"}, headers={"Idempotency-Key": "pay-2"})
    assert r.status_code == 409
    with tenant_context(api_shop.org):
        assert Payment.objects.count() == 1 and not Customer.objects.exclude(pk=customer.pk).exists()


def test_a_refused_request_does_not_use_up_its_key(api_shop):
    customer = _customer(api_shop.org)
    r = api_shop.api.post("/payments", payment_body(customer.pk, "75.00", currency="USD"),
                      headers={"Idempotency-Key": "pay-3"})
    assert r.status_code == 422
    with tenant_context(api_shop.org):
        assert not IdempotentRequest.objects.exists()
    r = api_shop.api.post("/payments", payment_body(customer.pk, "75.00"), headers={"Idempotency-Key": "pay-3"})
    assert r.status_code == 201


def test_keys_are_per_organization(api_shop):
    other, owner = make_org()
    theirs = Api(make_key(other, owner)[1])
    a = api_shop.api.post("/customers", {"name": "Mine"}, headers={"Idempotency-Key": "same"})
    b = theirs.post("/customers", {"name": "Theirs"}, headers={"Idempotency-Key": "same"})
    assert a.status_code == b.status_code == 201 and a.json()["name"] == "Mine" and b.json()["name"] == "Theirs"


def test_issuing_twice_with_one_key_issues_once(api_shop):
    customer = _customer(api_shop.org)
    invoice = api_shop.api.post("/invoices", draft_body(customer.pk)).json()
    first = api_shop.api.post(f"/invoices/{invoice['id']}/issue", {}, headers={"Idempotency-Key": "issue-1"})
    again = api_shop.api.post(f"/invoices/{invoice['id']}/issue", {}, headers={"Idempotency-Key": "issue-1"})
    assert first.status_code == again.status_code == 200 and again.content == first.content
    # Without the key the second attempt is refused by the service: issued already.
    assert api_shop.api.post(f"/invoices/{invoice['id']}/issue", {}).status_code == 422


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_duplicates_record_one_payment_and_all_get_the_same_answer():
    org, owner = make_org()
    _key, token = make_key(org, owner)
    customer = _customer(org)
    body = json.dumps(payment_body(customer.pk, "33.00", allocation="none"))

    def post(i):
        r = Client().post("/api/v1/payments", data=body, content_type="application/json",
                          headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "concurrent-pay"})
        return r.status_code, r.content

    results = run_at_once(20, post)
    assert {status for status, _ in results} == {201}
    assert len({content for _, content in results}) == 1
    with tenant_context(org):
        assert Payment.objects.count() == 1
        assert JournalEntry.objects.filter(source_type="payments.payment").count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_duplicates_of_a_create_without_its_own_key_create_once():
    """Creating a customer has no idempotency of its own: only the Idempotency-Key claim stops
    twenty concurrent duplicates from creating twenty customers."""
    org, owner = make_org()
    _key, token = make_key(org, owner)
    body = json.dumps({"name": "Concurrent Ltd"})

    def post(i):
        r = Client().post("/api/v1/customers", data=body, content_type="application/json",
                          headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "concurrent-customer"})
        return r.status_code, r.content

    results = run_at_once(20, post)
    assert {status for status, _ in results} == {201}
    assert len({content for _, content in results}) == 1
    with tenant_context(org):
        assert Customer.objects.count() == 1
        assert Invoice.objects.count() == 0
