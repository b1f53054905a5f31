"""Round trips to PostgreSQL per API write, counted on the wire (tests/round_trips.py): the key
check, the context, the rate limit, the health check, BEGIN and COMMIT, the answer and the
context's reset at the end included. The API's overhead over the services is mostly these
(issue 15's profile: 84 % of a request waits on PostgreSQL)."""

import pytest

from ledger_site.tenancy import tenant_context
from tests.api.helpers import Api, draft_body, make_key, payment_body
from tests.factories import CustomerFactory, make_org
from tests.round_trips import counted_connection, request_round_trips

pytestmark = pytest.mark.django_db(transaction=True)


def _calls(api, customer):
    counts = {}
    with request_round_trips(api.relay) as counted:
        r = api.post("/invoices", draft_body(customer.pk))
    assert r.status_code == 201, r.content
    counts["draft"] = counted["round_trips"]
    with request_round_trips(api.relay) as counted:
        r = api.post(f"/invoices/{r.json()['id']}/issue")
    assert r.status_code == 200, r.content
    counts["issue"] = counted["round_trips"]
    with request_round_trips(api.relay) as counted:
        r = api.post("/payments", payment_body(customer.pk, r.json()["total"]))
    assert r.status_code == 201, r.content
    counts["payment"] = counted["round_trips"]
    return counts


def test_round_trips_per_write():
    org, owner = make_org()
    _key, token = make_key(org, owner)
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org) for _ in range(2)]
    api = Api(token)
    with counted_connection() as relay:
        api.relay = relay
        _calls(api, customers[0])  # the first calls prepare statements and fill caches
        counts = _calls(api, customers[1])
    # Before (main at 52db4bf, counted the same way): 14, 14 and 24. Gone: around the key's round
    # trip, Django's health check (SELECT 1), BEGIN and COMMIT (the key's statements now commit as
    # one implicit transaction, and the round trip is the health check); in issuing, the wait of a
    # fetch inside its pipeline; the read-back after the commit (draft and issue: the invoice and
    # its lines; payment: the payment and its allocations); in the payment, the read of the webhook
    # endpoints (the organization has none).
    assert counts == {"draft": 9, "issue": 8, "payment": 18}, counts
