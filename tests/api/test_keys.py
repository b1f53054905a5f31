"""API keys: hashed, scoped, revocable, rate-limited, and each acts only inside its organization."""

import pytest
from django.test import override_settings

from accounts.api_keys import revoke_api_key
from accounts.models import ApiKey, Customer
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from tests.api.helpers import Api, draft_body, make_key, payment_body
from tests.factories import CustomerFactory, make_org


def _customer(org):
    with tenant_context(org):
        return CustomerFactory(organization=org)


def test_only_the_hash_of_the_secret_is_stored_and_the_token_works(api_shop):
    with tenant_context(api_shop.org):
        row = ApiKey.objects.values_list("secret_hash", "hint").get(pk=api_shop.key.pk)
    secret = api_shop.token.split("_", 3)[3]
    assert secret not in row[0] and secret not in row[1] and len(row[0]) == 64
    assert api_shop.api.get("/customers").status_code == 200


def test_the_key_records_when_and_from_where_it_was_last_used(api_shop):
    assert api_shop.api.get("/customers", headers={}).status_code == 200
    with tenant_context(api_shop.org):
        key = ApiKey.objects.get(pk=api_shop.key.pk)
    assert key.last_used_at is not None and key.last_used_ip == "127.0.0.1"


@pytest.mark.parametrize("token", ["", "llk_1_2", "nonsense", "llk_x_1_" + "a" * 43, "Basic abc"])
def test_a_missing_or_malformed_key_gets_401_with_an_error_body(db, token):
    r = Api(token).get("/customers")
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] in ("not_authenticated", "invalid_key")


def test_a_wrong_secret_gets_401(api_shop):
    org_id, key_id, secret = api_shop.token.split("_", 3)[1:]
    wrong = "B" if secret[-1] != "B" else "C"
    r = Api(f"llk_{org_id}_{key_id}_{secret[:-1]}{wrong}").get("/customers")
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "invalid_key"


def test_a_revoked_key_gets_401_at_once(api_shop):
    assert api_shop.api.get("/customers").status_code == 200
    with tenant_context(api_shop.org, api_shop.owner):
        revoke_api_key(api_shop.key, actor=api_shop.owner)
    r = api_shop.api.get("/customers")
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "revoked_key"


def test_a_read_key_can_read_but_not_write_and_nothing_changes(api_shop):
    _key, token = make_key(api_shop.org, api_shop.owner, scope="read")
    reader = Api(token)
    customer = _customer(api_shop.org)
    assert reader.get(f"/customers/{customer.pk}").status_code == 200
    writes = [
        reader.post("/customers", {"name": "Sneaky"}),
        reader.patch(f"/customers/{customer.pk}", {"name": "Renamed"}),
        reader.post(f"/customers/{customer.pk}/archive"),
        reader.post("/invoices", draft_body(customer.pk)),
        reader.post("/payments", payment_body(customer.pk, "10.00", allocation="none")),
    ]
    assert [r.status_code for r in writes] == [403] * 5
    assert {r.json()["errors"][0]["code"] for r in writes} == {"read_only_key"}
    with tenant_context(api_shop.org):
        assert list(Customer.objects.values_list("name", flat=True)) == [customer.name]
        assert not Customer.objects.get(pk=customer.pk).is_archived
        assert not Invoice.objects.exists() and not Payment.objects.exists()


def test_a_key_of_one_organization_gets_404_for_every_object_of_another_also_by_guessed_ids(api_shop):
    other, other_owner = make_org()
    theirs = Api(make_key(other, other_owner)[1])
    customer = theirs.post("/customers", {"name": "Their Customer"}).json()
    invoice = theirs.post("/invoices", draft_body(customer["id"])).json()
    theirs.post(f"/invoices/{invoice['id']}/issue", {})
    payment = theirs.post("/payments", payment_body(customer["id"], "50.00", allocation="none")).json()

    mine = api_shop.api
    reads = [f"/customers/{customer['id']}", f"/customers/{customer['id']}/balance",
             f"/customers/{customer['id']}/transactions", f"/invoices/{invoice['id']}",
             f"/invoices/{invoice['id']}/pdf", f"/payments/{payment['id']}"]
    for path in reads:
        r = mine.get(path)
        assert r.status_code == 404, path
        assert r.json()["errors"][0]["code"] == "not_found"
    writes = [mine.patch(f"/customers/{customer['id']}", {"name": "Mine now"}),
              mine.post(f"/customers/{customer['id']}/archive"),
              mine.post(f"/invoices/{invoice['id']}/void", {"reason": "x"}),
              mine.put(f"/invoices/{invoice['id']}", draft_body(customer["id"])),
              mine.post(f"/payments/{payment['id']}/reverse", {"reason": "x"})]
    assert [r.status_code for r in writes] == [404] * 5
    # Another organization's customer cannot be invoiced or paid by id either.
    r = mine.post("/invoices", draft_body(customer["id"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "customer_id"
    r = mine.post("/payments", payment_body(customer["id"], "5.00"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "customer_id"
    # Guessed ids: the first few and a window around each of theirs (ids grow with the suite's
    # earlier tests, so guessing every id up to theirs would cost tens of thousands of requests);
    # nothing of theirs appears, in lists either.
    with override_settings(API_RATE_LIMIT=100_000):
        for kind, theirs in (("customers", customer["id"]), ("invoices", invoice["id"]), ("payments", payment["id"])):
            for guess in sorted(set(range(1, 21)) | set(range(max(1, theirs - 30), theirs + 3))):
                assert mine.get(f"/{kind}/{guess}").status_code == 404, (kind, guess)
        assert mine.get("/customers").json()["items"] == []
        assert mine.get("/invoices").json()["items"] == []
        assert mine.get("/payments").json()["items"] == []
    # Their data is untouched.
    with tenant_context(other):
        assert Customer.objects.get(pk=customer["id"]).name == "Their Customer"
        assert Invoice.objects.get(pk=invoice["id"]).status == "issued"
        assert Payment.objects.get(pk=payment["id"]).reversed_at is None


def test_a_token_naming_another_organization_finds_no_key(api_shop):
    other, _ = make_org()
    _org, key_id, secret = api_shop.token.split("_", 3)[1:]
    r = Api(f"llk_{other.pk}_{key_id}_{secret}").get("/customers")
    assert r.status_code == 401


@override_settings(API_RATE_LIMIT=3, API_RATE_WINDOW_SECONDS=60)
def test_more_requests_than_the_limit_get_429_with_retry_after_per_key(api_shop):
    codes = [api_shop.api.get("/customers").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api_shop.api.get("/customers")
    assert r.status_code == 429 and r.json()["errors"][0]["code"] == "rate_limited"
    assert 1 <= int(r["Retry-After"]) <= 60
    # Another key of the same organization has its own allowance.
    other = Api(make_key(api_shop.org, api_shop.owner)[1])
    assert other.get("/customers").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_key_count_skips_the_wal_flush_but_never_the_requests_own_work(api_shop):
    """The count commits without waiting for the WAL flush only when it is a transaction of its
    own; inside the request's transaction (pooled connections) that setting would also cover the
    money the request moves."""
    from django.db import connection, transaction
    from django.test import RequestFactory

    from ledger_site.api_support import ApiKeyAuth

    def setting():
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    request = RequestFactory().get("/api/v1/customers")
    with transaction.atomic():
        assert ApiKeyAuth().authenticate(request, api_shop.token) is not None
        assert setting() == "on"
    assert ApiKeyAuth().authenticate(request, api_shop.token) is not None
    assert setting() == "on"  # SET LOCAL ended with the count's own transaction


def test_a_change_through_the_api_is_audited_with_the_keys_creator_and_the_callers_address(api_shop):
    from accounts.models import AuditEvent

    r = api_shop.api.post("/customers", {"name": "Audited Ltd", "billing_emails": ["a@example.com"]},
                      headers={"User-Agent": "shop-sync/1.0"})
    assert r.status_code == 201, r.content
    with tenant_context(api_shop.org):
        event = AuditEvent.objects.get(table_name="accounts_customer", object_id=r.json()["id"], action="insert")
    assert (event.actor_id, event.ip, event.user_agent) == (api_shop.owner.pk, "127.0.0.1", "shop-sync/1.0")


@pytest.mark.django_db(transaction=True)
def test_the_keys_round_trip_replaces_a_connection_the_server_closed(api_shop):
    """The key's round trip is the API's connection health check (Django's SELECT 1 is skipped):
    a persistent connection the server ended between two requests is replaced, and the request
    answers as if nothing happened, like Django's check would have made it."""
    import psycopg
    from django.db import connection

    from tests.db_roles import owner_conninfo

    def backend_pid():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    assert api_shop.api.get("/customers").status_code == 200
    ended = backend_pid()
    with psycopg.connect(owner_conninfo(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", [ended])
    connection.health_check_done = False  # a new request (request_started) on the same connection
    r = api_shop.api.get("/customers")
    assert r.status_code == 200, r.content
    assert backend_pid() != ended


def test_an_api_request_leaves_no_tenant_context_on_its_connection(api_shop):
    """The key sets the organization's context on the (persistent) connection; it is cleared once
    the response is sent (closed), before the connection serves anything else."""
    from ledger_site.tenancy import current_org_id

    r = api_shop.api.post("/customers", {"name": "Context Ltd", "billing_emails": ["c@example.com"]})
    assert r.status_code == 201, r.content
    assert current_org_id() is None
    r = api_shop.api.get("/customers")
    assert r.status_code == 200 and current_org_id() is None
