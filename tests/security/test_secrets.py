"""No secret that fails open; tokens that cannot be forged from ids (issue 22, #2)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, Role, User
from accounts.views.members import INVITE_SALT
from ledger_site.checks import KNOWN_KEYS, check_secret_key
from ledger_site.tenancy import tenant_context
from tests.factories import make_org

ROOT = Path(__file__).resolve().parents[2]
OLD_DEFAULT = "dev-only-insecure-key-change-me-for-production-0123456789"


def run_python(code, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_settings_without_a_secret_key_refuse_to_start():
    result = run_python("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'ledger_site.settings'; "
                        "django.setup()", DEBUG="False")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_manage_check_rejects_a_published_key():
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "DEBUG": "False", "SECRET_KEY": OLD_DEFAULT}, timeout=120)
    assert result.returncode != 0
    assert "ledgerline.E001" in result.stderr and "published example key" in result.stderr


@pytest.mark.parametrize("key", [*sorted(KNOWN_KEYS), "django-insecure-" + "x1y2z3" * 10, "short-but-random-9f8e",
                                 "ab" * 40])
def test_the_check_rejects_known_and_weak_keys(settings, key):
    settings.DEBUG = False
    settings.SECRET_KEY = key
    assert [e.id for e in check_secret_key()] == ["ledgerline.E001"]


def test_the_check_accepts_a_random_key(settings):
    settings.SECRET_KEY = "kT3v9_Qm2xLr8ZpWc4Yh1NbJf6UdA0sE7gRiOqVtHyXlKwMzPaSuDjFeGoCnBI"
    assert check_secret_key() == []


@pytest.mark.django_db
def test_an_invitation_cannot_be_forged_even_with_the_secret_key(settings):
    """The attack: the published key + sequential ids made a working owner invitation."""
    settings.SECRET_KEY = OLD_DEFAULT  # the attacker knows the key
    org, owner = make_org(slug="target")
    owner_client = Client()
    owner_client.force_login(owner)
    owner_client.post(reverse("member_list", kwargs={"org_slug": "target"}),
                      {"email": "pending-owner@example.com", "role": Role.OWNER})
    with tenant_context(org):
        invitation = Invitation.objects.get(organization=org)
    for payload in ({"i": invitation.pk, "o": org.pk}, {"i": invitation.pk, "o": org.pk, "n": "guess"},
                    {"i": invitation.pk, "o": org.pk, "n": ""}, {"i": "x", "o": org.pk, "n": 1}):
        forged = reverse("invitation_accept", args=[signing.dumps(payload, salt=INVITE_SALT)])
        attacker = Client()
        assert attacker.get(forged).status_code == 404
        assert attacker.post(forged, {"full_name": "Mallory", "password": "taken-over-2026"}).status_code == 404
    assert not User.objects.filter(email="pending-owner@example.com").exists()
    # The e-mailed link still works for the person invited.
    link = re.search(r"https?://[^/\s]+(/invitations/\S+/)", mail.outbox[0].body).group(1)
    assert Client().post(link, {"full_name": "Real Owner", "password": "welcome-aboard-77"}).status_code == 302
    with tenant_context(org):
        assert Membership.objects.get(organization=org, user__email="pending-owner@example.com").role == Role.OWNER


@pytest.mark.django_db
def test_invitations_carry_distinct_random_nonces():
    org, owner = make_org()
    with tenant_context(org):
        a = Invitation.objects.create(organization=org, email="a@example.com")
        b = Invitation.objects.create(organization=org, email="b@example.com")
    assert a.nonce != b.nonce and len(a.nonce) >= 32
