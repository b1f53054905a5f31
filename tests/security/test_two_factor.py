"""Two-factor sign-in: TOTP codes (once each) and recovery codes (once each)."""

import re
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import two_factor
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
    secret = two_factor.new_secret()
    codes = two_factor.enable(user, secret)
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
    secret = two_factor.new_secret()
    two_factor.enable(user, secret)
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
