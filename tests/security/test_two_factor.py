"""Two-factor sign-in: TOTP codes (once each) and recovery codes (once each)."""

import re
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import secret_box, two_factor
from accounts.auth import DEVICE_COOKIE
from accounts.models import TwoFactor
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"email": email, "password": password, **extra})


def enable_through_the_page(client):
    page = client.get(reverse("two_factor_settings")).content.decode()
    secret = re.search(r'id="two-factor-secret" class="mono">([A-Z2-7]+)<', page).group(1)
    assert client.post(reverse("two_factor_settings"), {"action": "enable", "code": "000000"}).status_code == 400
    done = client.post(reverse("two_factor_settings"), {"action": "enable", "code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", done.content.decode())
    assert len(codes) == two_factor.RECOVERY_CODES
    return secret, codes


def test_with_two_factor_on_the_password_alone_does_not_sign_in():
    user = UserFactory()
    owner = Client()
    owner.force_login(user)
    secret, _codes = enable_through_the_page(owner)

    client = Client()
    response = sign_in(client, user.email)
    assert response.url == reverse("login_two_factor")
    assert SESSION_KEY not in client.session
    assert client.get(reverse("dashboard", kwargs={"org_slug": "x"})).status_code in (302, 404)
    wrong = client.post(reverse("login_two_factor"), {"code": "123456"})
    assert wrong.status_code == 400 and SESSION_KEY not in client.session
    ok = client.post(reverse("login_two_factor"), {"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 302 and str(client.session[SESSION_KEY]) == str(user.pk)
    assert client.cookies[DEVICE_COOKIE].value


def test_a_code_works_once_and_recovery_codes_work_once():
    user = UserFactory()
    sealed = two_factor.new_secret()
    codes = two_factor.enable(user, sealed)
    secret = two_factor.shown_secret(sealed)
    code = pyotp.TOTP(secret).now()
    assert two_factor.verify(user, code) is True
    assert two_factor.verify(user, code) is False  # replayed
    assert two_factor.verify(user, codes[0]) is True
    assert two_factor.verify(user, codes[0]) is False  # spent
    assert len(TwoFactor.objects.get(user=user).recovery_hashes) == two_factor.RECOVERY_CODES - 1
    later = timezone.now() + timedelta(seconds=90)
    assert two_factor.verify(user, pyotp.TOTP(secret).at(later), now=later) is True


def test_wrong_codes_are_limited_and_the_second_step_expires(settings):
    settings.TWO_FACTOR_TRIES = 3
    user = UserFactory()
    sealed = two_factor.new_secret()
    two_factor.enable(user, sealed)
    secret = two_factor.shown_secret(sealed)
    client = Client()
    sign_in(client, user.email)
    for _ in range(3):
        client.post(reverse("login_two_factor"), {"code": "000000"})
    blocked = client.post(reverse("login_two_factor"), {"code": pyotp.TOTP(secret).now()})
    assert "Too many wrong codes" in blocked.content.decode() and SESSION_KEY not in client.session
    fresh = Client()
    sign_in(fresh, user.email)
    session = fresh.session
    session["two_factor_pending"][1] -= 3600
    session.save()
    assert fresh.post(reverse("login_two_factor"), {"code": pyotp.TOTP(secret).now()}).url == reverse("login")


def test_turning_it_off_needs_the_password():
    user = UserFactory()
    two_factor.enable(user, two_factor.new_secret())
    client = Client()
    client.force_login(user)
    client.post(reverse("two_factor_settings"), {"action": "disable", "password": "wrong"})
    assert two_factor.is_enabled(user)
    client.post(reverse("two_factor_settings"), {"action": "disable", "password": PASSWORD})
    assert not two_factor.is_enabled(user)
    assert sign_in(Client(), user.email).url == reverse("home")


def test_the_key_is_stored_encrypted_and_survives_a_secret_key_rotation_with_its_fallback(settings):
    user = UserFactory()
    sealed = two_factor.new_secret()
    two_factor.enable(user, sealed)
    secret = two_factor.shown_secret(sealed)
    stored = TwoFactor.objects.get(user=user).secret
    assert stored.startswith("v1:") and secret not in stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_twofactor WHERE user_id = %s", [user.pk])
        assert secret not in cursor.fetchone()[0], "not in clear in the database"
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-brand-new-key-" + "x" * 50, [old_key]
    assert two_factor.verify(user, pyotp.TOTP(secret).now()) is True
    assert secret_box.reseal(stored) != stored and secret_box.unseal(secret_box.reseal(stored)) == secret


def test_a_key_no_configured_secret_opens_refuses_the_code_and_says_why(settings, caplog):
    user = UserFactory()
    sealed = two_factor.new_secret()
    two_factor.enable(user, sealed)
    secret = two_factor.shown_secret(sealed)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "another-key-entirely-" + "y" * 50, []
    assert two_factor.verify(user, pyotp.TOTP(secret).now()) is False
    assert "cannot be opened with the configured SECRET_KEY" in caplog.text
    with pytest.raises(secret_box.SealedSecretError):
        secret_box.unseal(secret)  # a key in clear is not accepted as sealed either


def test_keys_stored_in_clear_before_the_change_are_sealed_by_the_migration():
    from importlib import import_module

    from django.apps import apps

    user = UserFactory()
    secret = two_factor.shown_secret(two_factor.new_secret())
    TwoFactor.objects.create(user=user, secret=secret)  # as the earlier version stored it
    import_module("accounts.migrations.0023_seal_two_factor_secrets").seal_existing(apps, None)
    stored = TwoFactor.objects.get(user=user).secret
    assert stored.startswith("v1:") and secret_box.unseal(stored) == secret
    assert two_factor.verify(user, pyotp.TOTP(secret).now()) is True
