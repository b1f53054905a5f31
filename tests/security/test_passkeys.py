"""WebAuthn passkeys as a second factor beside TOTP (accounts/passkeys.py, py_webauthn). The
authenticator here is a software one with a real key pair (tests/passkey_authenticator.py), so the
server's checks run for real; tests/browser/test_passkeys_flow.py does the same with Chromium's
virtual authenticator."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, Passkey, Role, SignInEvent
from ledger_site.tenancy import tenant_context
from tests.factories import PASSWORD, UserFactory, add_member, make_org
from tests.passkey_authenticator import SoftAuthenticator, b64url

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    return client.post(reverse("login"), {"email": user.email, "password": PASSWORD})


def add_passkey(client, authenticator, name="laptop"):
    options = client.post(reverse("passkey_options"))
    assert options.status_code == 200 and options["Content-Type"] == "application/json"
    credential = authenticator.create(json.loads(options.content))
    return client.post(reverse("passkey_add"), {"credential": credential, "name": name})


def passkey_step(client, authenticator, **kwargs):
    options = client.post(reverse("login_passkey_options"))
    assert options.status_code == 200, options.content
    return client.post(reverse("login_passkey"), {"credential": authenticator.get(json.loads(options.content),
                                                                                     **kwargs)})


def registered(user=None):
    user = user or UserFactory()
    client, key = Client(), SoftAuthenticator()
    client.force_login(user)
    assert add_passkey(client, key).status_code == 200
    return user, key


def test_a_passkey_is_registered_and_then_signs_in_as_the_second_step():
    org, user = make_org()
    client, key = Client(), SoftAuthenticator()
    client.force_login(user)
    added = add_passkey(client, key, name="  work   laptop ")
    assert added.status_code == 200 and added.json() == {"redirect": reverse("two_factor_settings")}
    stored = Passkey.objects.get(user=user)
    assert stored.name == "work laptop" and bytes(stored.credential_id) == key.credential_id
    assert "work laptop" in client.get(reverse("two_factor_settings")).content.decode()

    fresh = Client()
    first = sign_in(fresh, user)
    assert first.status_code == 302 and first.url == reverse("login_two_factor")  # the password alone: no
    assert fresh.get(reverse("dashboard", kwargs={"org_slug": org.slug})).status_code == 302
    page = fresh.get(reverse("login_two_factor")).content.decode()
    assert "Use a passkey" in page and 'name="code"' not in page  # no app set up: the passkey only
    done = passkey_step(fresh, key)
    assert done.status_code == 200 and done.json()["redirect"] == reverse("home")
    assert fresh.get(reverse("dashboard", kwargs={"org_slug": org.slug})).status_code == 200
    assert SignInEvent.objects.filter(user=user).latest("at").two_factor is True
    stored.refresh_from_db()
    assert stored.sign_count == 1 and stored.last_used_at is not None


def test_a_passkey_satisfies_an_organization_that_requires_two_factor():
    org, _owner = make_org()
    with tenant_context(org):
        Organization.objects.filter(pk=org.pk).update(require_two_factor=True)
    member = add_member(org, Role.FINANCE)
    client = Client()
    client.force_login(member)
    assert client.get(reverse("dashboard", kwargs={"org_slug": org.slug})).status_code == 302
    assert add_passkey(client, SoftAuthenticator()).status_code == 200
    assert client.get(reverse("dashboard", kwargs={"org_slug": org.slug})).status_code == 200


def test_the_answer_must_sign_this_sessions_challenge_once_from_this_origin():
    user, key = registered()
    client = Client()
    sign_in(client, user)
    options = json.loads(client.post(reverse("login_passkey_options")).content)
    # Another origin (a phishing site relaying the challenge) is refused...
    phished = client.post(reverse("login_passkey"), {"credential": key.get(options, origin="https://ledger.evil")})
    assert phished.status_code == 400
    # ...and that try used the challenge up: a right answer to it no longer counts.
    answer = key.get(options)
    assert client.post(reverse("login_passkey"), {"credential": answer}).status_code == 400
    # Another session (its own challenge) does not take this answer either.
    other = Client()
    sign_in(other, user)
    other.post(reverse("login_passkey_options"))
    assert other.post(reverse("login_passkey"), {"credential": answer}).status_code == 400
    # A fresh challenge, answered from this origin, signs in.
    assert passkey_step(client, key).status_code == 200


def test_another_persons_passkey_or_a_cloned_counter_does_not_sign_in():
    alice, alice_key = registered()
    bob, _bob_key = registered()
    client = Client()
    sign_in(client, bob)
    options = json.loads(client.post(reverse("login_passkey_options")).content)
    options["allowCredentials"].append({"id": b64url(alice_key.credential_id), "type": "public-key"})
    refused = client.post(reverse("login_passkey"), {"credential": alice_key.get(options)})
    assert refused.status_code == 400 and "did not sign you in" in refused.json()["error"]
    # A counter that does not grow (a copy of the authenticator) is refused.
    fresh = Client()
    sign_in(fresh, alice)
    assert passkey_step(fresh, alice_key, counter=5).status_code == 200
    again = Client()
    sign_in(again, alice)
    assert passkey_step(again, alice_key, counter=5).status_code == 400
    assert Passkey.objects.get(user=alice).sign_count == 5


def test_failed_passkeys_share_the_wrong_code_budget(settings):
    settings.TWO_FACTOR_TRIES = 3
    user, key = registered()
    client = Client()
    sign_in(client, user)
    for _ in range(3):
        assert passkey_step(client, key, origin="https://elsewhere.example").status_code == 400
    assert passkey_step(client, key).status_code == 429


def test_removing_a_passkey_needs_the_password_and_only_ones_own():
    user, _key = registered()
    other, _ = registered()
    client = Client()
    client.force_login(user)
    mine = Passkey.objects.get(user=user)
    theirs = Passkey.objects.get(user=other)
    client.post(reverse("passkey_remove", kwargs={"pk": mine.pk}), {"password": "wrong"})
    assert Passkey.objects.filter(pk=mine.pk).exists()
    client.post(reverse("passkey_remove", kwargs={"pk": theirs.pk}), {"password": PASSWORD})
    assert Passkey.objects.filter(pk=theirs.pk).exists()
    client.post(reverse("passkey_remove", kwargs={"pk": mine.pk}), {"password": PASSWORD})
    assert not Passkey.objects.filter(pk=mine.pk).exists()
    # Without a second factor left the password alone signs in again.
    assert sign_in(Client(), user).url != reverse("login_two_factor")


def test_the_same_authenticator_is_not_registered_twice_and_bad_input_changes_nothing():
    user, key = registered()
    client = Client()
    client.force_login(user)
    options = json.loads(client.post(reverse("passkey_options")).content)
    assert [d["id"] for d in options["excludeCredentials"]]  # the browser is told which it has
    again = client.post(reverse("passkey_add"), {"credential": key.create(options), "name": "twice"})
    assert again.status_code == 400 and "already registered" in again.json()["error"]
    client.post(reverse("passkey_options"))
    garbage = client.post(reverse("passkey_add"), {"credential": "{not json", "name": "x"})
    assert garbage.status_code == 400 and garbage.json()["error"]
    no_challenge = client.post(reverse("passkey_add"), {"credential": key.create(options), "name": "x"})
    assert no_challenge.status_code == 400
    assert Passkey.objects.filter(user=user).count() == 1
