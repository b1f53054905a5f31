"""Issue 22 #9: the application role cannot list password hashes or sessions (accounts/identity.py).

Tried as an attacker with the application's own database login and no tenant context, as an SQL
injection in any page would be."""

import psycopg
import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.urls import reverse
from psycopg.conninfo import make_conninfo

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def app_role_connection():
    s = connection.settings_dict  # the tests' connection is the application role (tests/conftest.py)
    info = {"dbname": s["NAME"], "user": s["USER"], "password": s["PASSWORD"], "host": s.get("HOST") or "",
            "port": str(s.get("PORT") or "")}
    return psycopg.connect(make_conninfo(**{k: v for k, v in info.items() if v}), autocommit=True)


def signed_in_client(user, password=PASSWORD):
    client = Client()
    assert client.post(reverse("login"), {"email": user.email, "password": password}).status_code == 302
    return client


def test_the_application_role_reads_no_password_hash_and_no_session(owner_sql):
    users = UserFactory.create_batch(3)
    signed_in_client(users[0])
    with app_role_connection() as conn:
        assert conn.execute("SELECT current_user, current_setting('app.organization_id', true)").fetchone()[1] in (
            None, "")
        stored = [row[0] for row in conn.execute("SELECT password FROM accounts_user")]
        assert len(stored) == 3 and all(p.endswith("$") and p.count("$") >= 2 for p in stored), stored
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM django_session")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM ledger_private.password_hash")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM django_session")
        # The narrow path answers yes/no for one user and a candidate; it lists nothing.
        assert conn.execute("SELECT ledger_password_matches(%s, 'guess')", [users[0].pk]).fetchone()[0] is False
        assert conn.execute("SELECT count(*) FROM ledger_session_load('')").fetchone()[0] == 0
    # The hashes are there, out of the role's reach.
    vaulted = owner_sql.execute("SELECT count(*) FROM ledger_private.password_hash WHERE user_id = ANY(%s)",
                                [[u.pk for u in users]]).fetchone()[0]
    assert vaulted == 3
    assert owner_sql.execute("SELECT count(*) FROM django_session").fetchone()[0] >= 1


def test_sign_in_and_sessions_work_through_the_narrow_path():
    user = UserFactory()
    client = signed_in_client(user)
    assert str(client.session[SESSION_KEY]) == str(user.pk)
    assert client.get(reverse("two_factor_settings")).status_code == 200  # a signed-in page
    wrong = Client()
    assert wrong.post(reverse("login"), {"email": user.email, "password": "wrong"}).status_code != 302
    assert SESSION_KEY not in wrong.session
    fresh = User.objects.get(pk=user.pk)
    assert fresh.check_password(PASSWORD) and not fresh.check_password("wrong")
    client.logout()
    assert SESSION_KEY not in client.session


def test_a_new_password_ends_the_other_sessions_and_the_old_password():
    user = UserFactory()
    other_device = signed_in_client(user)
    assert other_device.session.get(SESSION_KEY)
    fresh = User.objects.get(pk=user.pk)
    fresh.set_password("a-brand-new-secret-2026")
    fresh.save()
    stored = User.objects.get(pk=user.pk)
    assert stored.check_password("a-brand-new-secret-2026") and not stored.check_password(PASSWORD)
    # The session hash covers the salt, which changes with every password: the other device is out.
    response = other_device.get(reverse("two_factor_settings"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_an_outdated_hasher_is_upgraded_at_sign_in(settings):
    user = UserFactory()  # MD5 in tests (tests/conftest.py)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    upgraded = User.objects.get(pk=user.pk)
    assert upgraded.password.startswith("pbkdf2_sha256$") and upgraded.password.endswith("$")
    assert upgraded.check_password(PASSWORD)

