"""Sign-up does not reveal accounts; password reset cannot be used to flood anyone (issue 22, #8)."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.org_directory import slug_taken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signup_data(**changes):
    data = {"full_name": "Eve Prober", "email": "eve@probe.example", "password": "a-long-secret-2026",
            "name": "Probe Ltd", "slug": "probe", "base_currency": "EUR", "country": "de"}
    data.update(changes)
    return data


def test_sign_up_with_a_taken_address_says_check_your_email_and_tells_the_owner(client):
    owner = UserFactory(email="victim@example.com")
    response = client.post(reverse("signup"), signup_data(email="Victim@Example.com"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "exists" not in body and "already" not in body
    assert "Check your e-mail" in body
    assert not slug_taken("probe")
    assert User.objects.filter(email="victim@example.com").count() == 1
    assert User.objects.get(pk=owner.pk).check_password("correct-horse-battery")  # untouched
    assert [m.to for m in mail.outbox] == [["victim@example.com"]]
    assert "already has one" in mail.outbox[0].body
    assert "_auth_user_id" not in client.session


def test_sign_ups_are_rate_limited_per_client(settings):
    settings.SIGNUP_PER_CLIENT = 2
    client = Client(REMOTE_ADDR="192.0.2.77")
    for n in range(2):
        client.post(reverse("signup"), signup_data(email=f"probe{n}@example.com", slug=f"probe{n}"))
        client.post(reverse("logout"))
    response = client.post(reverse("signup"), signup_data(email="probe9@example.com", slug="probe9"))
    assert response.status_code == 429 and not User.objects.filter(email="probe9@example.com").exists()
    # Another client is not affected.
    assert Client(REMOTE_ADDR="192.0.2.78").post(
        reverse("signup"), signup_data(email="probe9@example.com", slug="probe9")).status_code == 302


def test_ten_password_reset_requests_send_at_most_three_emails(client, settings):
    """The attack: 10 requests, 10 e-mails to the victim."""
    victim = UserFactory(email="flooded@example.com")
    for n in range(10):  # from ten different clients: the per-address limit holds
        response = Client(REMOTE_ADDR=f"198.51.100.{n + 1}").post(reverse("password_reset"), {"email": victim.email})
        assert response.url == reverse("password_reset_done")  # the same answer every time
    assert len(mail.outbox) == settings.PASSWORD_RESET_PER_ADDRESS == 3
    assert all(m.to == [victim.email] for m in mail.outbox)


def test_one_client_cannot_spray_resets_across_many_addresses(settings):
    settings.PASSWORD_RESET_PER_CLIENT = 4
    users = UserFactory.create_batch(6)
    client = Client(REMOTE_ADDR="203.0.113.9")
    for user in users:
        assert client.post(reverse("password_reset"), {"email": user.email}).url == reverse("password_reset_done")
    assert len(mail.outbox) == 4
    assert Client(REMOTE_ADDR="203.0.113.10").post(reverse("password_reset"), {"email": users[5].email})
    assert len(mail.outbox) == 5
