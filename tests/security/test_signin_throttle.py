"""Sign-in throttling slows one client down and never locks anyone else out (issue 22, #1)."""

import re
from datetime import timedelta

import pytest
import requests
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.auth import DEVICE_COOKIE
from accounts.models import LoginAttempt
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROXY = "10.9.9.9"


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"email": email, "password": password}, **extra)


def via_proxy(client_address):
    """A request as the production proxy forwards it: REMOTE_ADDR is the proxy."""
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_address}


@pytest.fixture
def proxied(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    return settings


def fail(client, email, times, **extra):
    for _ in range(times):
        assert sign_in(client, email, "guess", **extra).status_code == 400


def test_failures_delay_only_the_client_that_made_them(proxied):
    victim = UserFactory()
    attacker = Client()
    fail(attacker, victim.email, proxied.LOGIN_FREE_FAILURES + 5, **via_proxy("203.0.113.7"))
    # The attacker's own next try, even with the right password, must wait.
    refused = sign_in(attacker, victim.email, **via_proxy("203.0.113.7"))
    assert refused.status_code == 400
    assert "Try again in" in refused.content.decode()
    # The owner, from another client behind the same proxy, signs in at once.
    assert sign_in(Client(), victim.email, **via_proxy("198.51.100.20")).status_code == 302


def test_the_client_address_comes_from_the_trusted_proxy_only(proxied):
    victim = UserFactory()
    # A spoofed left-most entry is ignored: the proxy appended the real address on the right.
    fail(Client(), victim.email, proxied.LOGIN_FREE_FAILURES + 1,
         **via_proxy("198.51.100.20, 203.0.113.7"))
    assert set(LoginAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    # From an untrusted REMOTE_ADDR, X-Forwarded-For is not read at all.
    LoginAttempt.objects.all().delete()
    fail(Client(), victim.email, 1, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert list(LoginAttempt.objects.values_list("ip_address", flat=True)) == ["192.0.2.1"]


def test_delays_grow_and_then_pass(settings):
    settings.LOGIN_FREE_FAILURES = 2
    settings.LOGIN_DELAY_BASE_SECONDS = 10
    user = UserFactory()
    client = Client()
    fail(client, user.email, 2)  # the free ones; the second starts a 10 s delay
    wait = re.search(r"Try again in (\d+) seconds", sign_in(client, user.email).content.decode())
    assert wait and 8 <= int(wait.group(1)) <= 10
    LoginAttempt.objects.update(at=timezone.now() - timedelta(seconds=11))
    fail(client, user.email, 1)  # third failure: 20 s
    wait = re.search(r"Try again in (\d+) seconds", sign_in(client, user.email).content.decode())
    assert wait and 18 <= int(wait.group(1)) <= 20
    LoginAttempt.objects.update(at=timezone.now() - timedelta(seconds=21))
    assert sign_in(client, user.email).status_code == 302
    assert not LoginAttempt.objects.filter(email=user.email).exists()  # success clears the count


def test_a_known_device_skips_the_delays_of_its_shared_address(settings):
    user = UserFactory()
    device = Client(REMOTE_ADDR="192.0.2.50")
    assert sign_in(device, user.email).status_code == 302
    assert device.cookies[DEVICE_COOKIE].value
    device.post(reverse("logout"))
    # Someone else in the same office (same address) hammers the account.
    fail(Client(REMOTE_ADDR="192.0.2.50"), user.email, settings.LOGIN_FREE_FAILURES + 4)
    assert sign_in(Client(REMOTE_ADDR="192.0.2.50"), user.email).status_code == 400
    assert sign_in(device, user.email).status_code == 302
    # A device cookie for another account does not help.
    other = UserFactory()
    fail(device, other.email, settings.LOGIN_FREE_FAILURES + 4)
    assert sign_in(device, other.email).status_code == 400


def test_a_password_reset_clears_the_failures(client, settings):
    user = UserFactory()
    fail(client, user.email, settings.LOGIN_FREE_FAILURES + 4)
    assert sign_in(client, user.email).status_code == 400
    client.post(reverse("password_reset"), {"email": user.email})
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": "fresh-ledger-pass-9", "new_password2": "fresh-ledger-pass-9"})
    assert not LoginAttempt.objects.filter(email=user.email).exists()
    assert sign_in(client, user.email, "fresh-ledger-pass-9").status_code == 302


def test_unknown_accounts_are_delayed_the_same_way(client, settings):
    fail(client, "nobody@example.com", settings.LOGIN_FREE_FAILURES)
    assert "Try again in" in sign_in(client, "nobody@example.com").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_thousand_failed_sign_ins_from_one_client_do_not_block_another(live_server, settings):
    """Bounded load over loopback: the production shape (every request through one proxy)."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    victim = UserFactory()
    login_url = live_server.url + reverse("login")

    def session():
        s = requests.Session()
        s.get(login_url, timeout=10)
        return s

    attacker = session()
    token = attacker.cookies["csrftoken"]
    refused = 0
    for n in range(1000):
        email = victim.email if n % 2 else f"guess{n % 50}@example.com"
        r = attacker.post(login_url, data={"email": email, "password": f"guess-{n}", "csrfmiddlewaretoken": token},
                          headers={"X-Forwarded-For": "203.0.113.66"}, allow_redirects=False, timeout=10)
        assert r.status_code == 400
        refused += "Try again in" in r.text
    assert refused > 900  # almost everything was refused before any password was checked
    assert LoginAttempt.objects.count() < 60  # and the table stays small

    owner = session()
    r = owner.post(login_url, data={"email": victim.email, "password": PASSWORD,
                                    "csrfmiddlewaretoken": owner.cookies["csrftoken"]},
                   headers={"X-Forwarded-For": "198.51.100.4"}, allow_redirects=False, timeout=10)
    assert r.status_code == 302
