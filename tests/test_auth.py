"""Sign-up, sign-in, throttling, password reset, invitations, roles and switching organizations."""

import re
import time
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, LoginAttempt, Membership, Role, User
from accounts.org_directory import organization_for_slug, slug_taken
from ledger_site.tenancy import tenant_context
from tests.factories import UserFactory, add_member, make_org

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def signup_data(**changes):
    data = {"full_name": "Ada Founder", "email": "ada@founder.example", "password": "a-long-secret-2026",
            "name": "Founder Ltd", "slug": "founder", "base_currency": "GBP", "country": "gb"}
    data.update(changes)
    return data


def members_of(org):
    with tenant_context(org):
        return {m.user.email: m.role for m in Membership.objects.filter(organization=org).select_related("user")}


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"email": email, "password": password, **extra})


def logged_in_user_id(client):
    return client.session.get(SESSION_KEY)


# --------------------------------------------------------------------------- sign-up, sign-in


def test_sign_up_creates_user_organization_and_owner_membership(client):
    response = client.post(reverse("signup"), signup_data())
    assert response.status_code == 302
    assert response.url == reverse("dashboard", kwargs={"org_slug": "founder"})
    user = User.objects.get(email="ada@founder.example")
    assert user.full_name == "Ada Founder"
    assert user.check_password("a-long-secret-2026")
    org = organization_for_slug("founder")
    assert (org.name, org.base_currency, org.country) == ("Founder Ltd", "GBP", "GB")
    assert members_of(org) == {"ada@founder.example": Role.OWNER}
    assert str(logged_in_user_id(client)) == str(user.pk)
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Start by adding your first customer" in page.content.decode()


def test_sign_up_refuses_a_weak_password_and_does_not_say_whether_an_email_exists(client):
    UserFactory(email="taken@example.com")
    response = client.post(reverse("signup"), signup_data(email="Taken@Example.com", password="123"))
    assert response.status_code == 200
    form = response.context["form"]
    assert "email" not in form.errors  # whether it exists: tests/security/test_enumeration.py
    assert form.errors["password"]
    assert not slug_taken("founder")


def test_sign_in_by_email_is_case_insensitive_and_lands_on_the_dashboard(client):
    org, owner = make_org(slug="acme")
    response = sign_in(client, owner.email.upper())
    assert response.status_code == 302
    assert str(logged_in_user_id(client)) == str(owner.pk)
    assert client.get(response.url).url == reverse("dashboard", kwargs={"org_slug": "acme"})


def test_wrong_password_is_refused_with_a_message(client):
    _org, owner = make_org()
    response = sign_in(client, owner.email, "wrong-password")
    assert response.status_code == 400
    assert "E-mail or password is not correct." in response.content.decode()
    assert logged_in_user_id(client) is None


def test_sign_in_follows_a_local_next_but_not_a_foreign_one(client):
    org, owner = make_org(slug="nexty")
    local = reverse("customer_list", kwargs={"org_slug": "nexty"})
    assert sign_in(client, owner.email, next=local).url == local
    other = Client()
    assert sign_in(other, owner.email, next="https://evil.example/steal").url == reverse("home")


def test_sign_out_needs_post_and_ends_the_session(client):
    _org, owner = make_org()
    client.force_login(owner)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).url == reverse("login")
    assert logged_in_user_id(client) is None


def test_repeated_failures_slow_down_this_client_without_locking_the_account(client):
    """The progressive delays themselves are tested in tests/security/test_signin_throttle.py."""
    _org, owner = make_org()
    for _ in range(settings.LOGIN_FREE_FAILURES):
        assert sign_in(client, owner.email, "guess").status_code == 400
    assert LoginAttempt.objects.filter(email=owner.email).count() == settings.LOGIN_FREE_FAILURES
    response = sign_in(client, owner.email)
    assert response.status_code == 400
    assert "Too many failed attempts from this device. Try again in" in response.content.decode()
    assert logged_in_user_id(client) is None
    # The same account from another address is not affected.
    assert sign_in(Client(REMOTE_ADDR="10.0.0.9"), owner.email).status_code == 302


# --------------------------------------------------------------------------- password reset


def test_password_reset_by_email_then_sign_in_with_the_new_password(client):
    _org, owner = make_org()
    response = client.post(reverse("password_reset"), {"email": owner.email})
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "fresh-ledger-pass-9", "new_password2": "fresh-ledger-pass-9"})
    assert done.url == reverse("password_reset_complete")

    assert sign_in(Client(), owner.email).status_code == 400
    assert sign_in(Client(), owner.email, "fresh-ledger-pass-9").status_code == 302
    # The link works once.
    again = Client().get(link, follow=True)
    assert again.context["validlink"] is False


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post(reverse("password_reset"), {"email": "ghost@example.com"})
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


# --------------------------------------------------------------------------- invitations


def invite(owner_client, org, email, role):
    mail.outbox.clear()
    response = owner_client.post(reverse("member_list", kwargs={"org_slug": org.slug}),
                                 {"email": email, "role": role})
    assert response.status_code == 302, response.content.decode()[:500]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [email.lower()]
    return re.search(r"https?://[^/\s]+(/invitations/\S+/)", mail.outbox[0].body).group(1)


@pytest.fixture
def owned():
    org, owner = make_org(slug="inviting", name="Inviting Co")
    client = Client()
    client.force_login(owner)
    return org, owner, client


def test_invited_newcomer_sets_a_password_and_joins_with_the_invited_role(owned):
    org, _owner, owner_client = owned
    link = invite(owner_client, org, "New.Person@Example.com", Role.VIEWER)
    newcomer = Client()
    page = newcomer.get(link)
    assert page.status_code == 200
    assert "Join Inviting Co" in page.content.decode()
    response = newcomer.post(link, {"full_name": "Nia Newcomer", "password": "welcome-aboard-77"})
    assert response.url == reverse("dashboard", kwargs={"org_slug": "inviting"})
    user = User.objects.get(email="new.person@example.com")
    assert members_of(org)["new.person@example.com"] == Role.VIEWER
    assert str(logged_in_user_id(newcomer)) == str(user.pk)
    assert newcomer.get(response.url).status_code == 200
    # The invitation is spent.
    assert Client().get(link).status_code == 404


def test_invited_existing_user_signs_in_and_accepts(owned):
    org, _owner, owner_client = owned
    existing = UserFactory(email="known@example.com")
    link = invite(owner_client, org, "known@example.com", Role.FINANCE)
    anonymous = Client()
    response = anonymous.get(link)
    assert response.url == f"{reverse('login')}?next={link}"
    assert sign_in(anonymous, "known@example.com", next=link).url == link
    assert anonymous.post(link).url == reverse("dashboard", kwargs={"org_slug": "inviting"})
    assert members_of(org)[existing.email] == Role.FINANCE


def test_invitation_for_someone_else_is_refused(owned):
    org, _owner, owner_client = owned
    link = invite(owner_client, org, "intended@example.com", Role.FINANCE)
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(link).status_code == 403
    assert stranger.post(link).status_code == 403
    assert "intended@example.com" not in members_of(org)


def test_tampered_invitation_token_is_404(owned):
    org, _owner, owner_client = owned
    link = invite(owner_client, org, "someone@example.com", Role.OWNER)
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged_payload = signing.dumps({"i": 1, "o": org.pk}, salt="another.salt")
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged_payload, "nonsense"):
        url = reverse("invitation_accept", args=[bad])
        assert Client().get(url).status_code == 404
        assert Client().post(url, {"full_name": "X", "password": "welcome-aboard-77"}).status_code == 404
    assert not User.objects.filter(email="someone@example.com").exists()


def test_expired_invitation_is_404(owned):
    org, _owner, owner_client = owned
    link = invite(owner_client, org, "late@example.com", Role.FINANCE)
    later = time.time() + settings.INVITATION_MAX_AGE_SECONDS + 60
    with mock.patch.object(signing, "time", mock.Mock(time=lambda: later)):
        assert Client().get(link).status_code == 404
    assert Client().get(link).status_code == 200  # still valid today


def test_revoked_invitation_is_404(owned):
    org, _owner, owner_client = owned
    link = invite(owner_client, org, "revoked@example.com", Role.FINANCE)
    with tenant_context(org):
        invitation = Invitation.objects.get(organization=org, email="revoked@example.com")
    response = owner_client.post(reverse("invitation_revoke", kwargs={"org_slug": org.slug, "pk": invitation.pk}))
    assert response.status_code == 302
    assert Client().get(link).status_code == 404


def test_inviting_an_existing_member_is_refused(owned):
    org, _owner, owner_client = owned
    member = add_member(org, Role.VIEWER)
    response = owner_client.post(reverse("member_list", kwargs={"org_slug": org.slug}),
                                 {"email": member.email, "role": Role.FINANCE})
    assert response.status_code == 200
    assert "already a member" in response.content.decode()
    assert mail.outbox == []


# --------------------------------------------------------------------------- roles


def test_owner_changes_a_role_and_removes_a_member(owned):
    org, _owner, owner_client = owned
    member = add_member(org, Role.FINANCE)
    with tenant_context(org):
        membership = Membership.objects.get(organization=org, user=member)
    url = reverse("member_role", kwargs={"org_slug": org.slug, "pk": membership.pk})
    assert owner_client.post(url, {"role": Role.VIEWER}).status_code == 302
    assert members_of(org)[member.email] == Role.VIEWER
    assert owner_client.post(url, {"role": "emperor"}).status_code == 302
    assert members_of(org)[member.email] == Role.VIEWER

    member_client = Client()
    member_client.force_login(member)
    customers = reverse("customer_create", kwargs={"org_slug": org.slug})
    assert member_client.get(customers).status_code == 403  # the new role applies at once

    remove = reverse("member_remove", kwargs={"org_slug": org.slug, "pk": membership.pk})
    assert owner_client.post(remove).status_code == 302
    assert member.email not in members_of(org)
    assert member_client.get(reverse("dashboard", kwargs={"org_slug": org.slug})).status_code == 404


def test_the_last_owner_can_be_neither_demoted_nor_removed(owned):
    org, owner, owner_client = owned
    with tenant_context(org):
        mine = Membership.objects.get(organization=org, user=owner)
    role_url = reverse("member_role", kwargs={"org_slug": org.slug, "pk": mine.pk})
    remove_url = reverse("member_remove", kwargs={"org_slug": org.slug, "pk": mine.pk})

    response = owner_client.post(role_url, {"role": Role.FINANCE}, follow=True)
    assert "at least one owner" in response.content.decode()
    response = owner_client.post(remove_url, follow=True)
    assert "at least one owner" in response.content.decode()
    assert members_of(org)[owner.email] == Role.OWNER

    page = owner_client.get(reverse("member_list", kwargs={"org_slug": org.slug})).content.decode()
    assert "Only owner" in page and remove_url not in page

    # With a second owner, the first may step down, and then leave.
    second = add_member(org, Role.OWNER)
    assert remove_url in owner_client.get(reverse("member_list", kwargs={"org_slug": org.slug})).content.decode()
    assert owner_client.post(role_url, {"role": Role.FINANCE}).status_code == 302
    assert members_of(org) == {owner.email: Role.FINANCE, second.email: Role.OWNER}
    second_client = Client()
    second_client.force_login(second)
    with tenant_context(org):
        theirs = Membership.objects.get(organization=org, user=second)
    leave = second_client.post(reverse("member_remove", kwargs={"org_slug": org.slug, "pk": theirs.pk}))
    assert "at least one owner" in second_client.get(leave.url).content.decode()
    assert second_client.post(role_url, {"role": Role.OWNER}).status_code == 302
    leave = second_client.post(reverse("member_remove", kwargs={"org_slug": org.slug, "pk": theirs.pk}))
    assert leave.url == reverse("home")
    assert members_of(org) == {owner.email: Role.OWNER}


def test_a_user_in_two_organizations_can_switch(client):
    org_a, user = make_org(name="Alpha Trading", slug="alpha")
    org_b, _ = make_org(name="Beta Works", slug="beta")
    add_member(org_b, Role.VIEWER, user=user)
    client.force_login(user)
    page_a = client.get(reverse("dashboard", kwargs={"org_slug": "alpha"}))
    assert page_a.status_code == 200
    html = page_a.content.decode()
    assert reverse("dashboard", kwargs={"org_slug": "beta"}) in html
    assert "Beta Works" in html and "Alpha Trading" in html
    page_b = client.get(reverse("dashboard", kwargs={"org_slug": "beta"}))
    assert page_b.status_code == 200
    assert page_b.context["org"] == org_b
    assert page_b.context["membership"].role == Role.VIEWER
    # The role is per organization: owner in A, viewer in B.
    assert client.get(reverse("org_settings", kwargs={"org_slug": "alpha"})).status_code == 200
    assert client.get(reverse("org_settings", kwargs={"org_slug": "beta"})).status_code == 403


def test_signed_in_user_creates_a_second_organization(client):
    _org, user = make_org(slug="first")
    client.force_login(user)
    response = client.post(reverse("org_create"), {"name": "Second Shop", "slug": "second", "base_currency": "USD",
                                                   "country": "us", "address": "", "tax_id": ""})
    assert response.url == reverse("dashboard", kwargs={"org_slug": "second"})
    org = organization_for_slug("second")
    assert org.country == "US"
    assert members_of(org) == {user.email: Role.OWNER}


def test_home_redirects_by_state(client):
    assert client.get(reverse("home")).url == reverse("login")
    loner = UserFactory()
    client.force_login(loner)
    assert client.get(reverse("home")).url == reverse("org_create")
    assert Client().get(reverse("org_create")).url == reverse("login")
