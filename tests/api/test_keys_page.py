"""The owner's API keys page: the token is shown once and works; revoking stops it at once."""

from accounts.models import ApiKey
from ledger_site.tenancy import tenant_context
from tests.api.helpers import Api
from tests.factories import PASSWORD, make_org


def test_an_owner_creates_a_key_sees_it_once_and_it_works(client, db):
    org, owner = make_org()
    client.login(email=owner.email, password=PASSWORD)
    url = f"/o/{org.slug}/settings/api-keys/"
    r = client.post(url, {"name": "Web shop", "scope": "read_write"})
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    token = r.context["token"]
    assert token.startswith(f"llk_{org.pk}_") and token in r.content.decode()
    assert Api(token).post("/customers", {"name": "From the shop"}).status_code == 201
    again = client.get(url).content.decode()
    assert token not in again and "Web shop" in again
    with tenant_context(org):
        key = ApiKey.objects.get()
    assert key.scope == "read_write" and key.hint in again and key.last_used_ip == "127.0.0.1"
    # The same live name twice is refused on the form.
    r = client.post(url, {"name": "Web shop", "scope": "read"})
    assert r.context["token"] is None and "exists already" in r.content.decode()
    client.post(f"/o/{org.slug}/settings/api-keys/{key.pk}/revoke/")
    assert Api(token).get("/customers").status_code == 401
