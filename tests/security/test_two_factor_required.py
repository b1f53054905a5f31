"""Issue 22: owners can require two-factor sign-in for their organization; sign-in history per user."""

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from accounts import two_factor
from accounts.models import Customer, Membership, Organization, Role, SignInEvent
from accounts.org_directory import organization_for_slug
from ledger_site.tenancy import tenant_context
from tests.factories import PASSWORD, UserFactory, add_member, make_org

pytestmark = pytest.mark.django_db


def turn_on(user):
    sealed = two_factor.new_secret()
    two_factor.enable(user, sealed)
    return two_factor.shown_secret(sealed)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def require(org, value=True):
    with tenant_context(org):
        Organization.objects.filter(pk=org.pk).update(require_two_factor=value)


def test_a_member_without_two_factor_is_sent_to_set_it_up_before_entering():
    org, owner = make_org()
    member = add_member(org, Role.FINANCE)
    require(org)
    dashboard = reverse("dashboard", kwargs={"org_slug": org.slug})
    client = client_for(member)
    response = client.get(dashboard)
    assert response.status_code == 302
    assert response.url == f"{reverse('two_factor_settings')}?next=%2Fo%2F{org.slug}%2F"
    # Every page of the organization, writes included: nothing happens before the set-up.
    response = client.post(reverse("customer_create", kwargs={"org_slug": org.slug}),
                           {"name": "Sneaky", "code": "S1", "currency": "EUR"})
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_settings"))
    with tenant_context(org):
        assert not Customer.objects.filter(name="Sneaky").exists()
    page = client.get(response.url)
    assert page.status_code == 200 and "requires two-factor sign-in" in page.content.decode()
    turn_on(member)
    assert client_for(member).get(dashboard).status_code == 200


def test_organizations_that_do_not_require_it_and_other_organizations_are_unaffected():
    org, owner = make_org()
    other, other_owner = make_org()
    member = add_member(org, Role.VIEWER)
    with tenant_context(other):
        Membership.objects.create(organization=other, user=member, role=Role.VIEWER)
    require(org)
    assert client_for(member).get(reverse("dashboard", kwargs={"org_slug": other.slug})).status_code == 200
    # An outsider still cannot tell the organization exists.
    assert client_for(other_owner).get(reverse("dashboard", kwargs={"org_slug": org.slug})).status_code == 404


def test_the_setup_pages_done_link_goes_back_to_the_organization():
    org, owner = make_org()
    member = add_member(org, Role.FINANCE)
    require(org)
    client = client_for(member)
    dashboard = reverse("dashboard", kwargs={"org_slug": org.slug})
    setup = f"{reverse('two_factor_settings')}?next={dashboard}"
    client.get(setup)
    secret = two_factor.shown_secret(client.session["two_factor_setup"])
    page = client.post(setup, {"action": "enable", "code": pyotp.TOTP(secret).now()})
    assert f'href="{dashboard}"' in page.content.decode()
    assert client.get(dashboard).status_code == 200
    # An outside address is not followed.
    page = client_for(UserFactory()).get(f"{reverse('two_factor_settings')}?next=https://evil.example/")
    assert "evil.example" not in page.content.decode()


def test_only_an_owner_with_two_factor_can_require_it():
    org, owner = make_org()
    url = reverse("org_settings", kwargs={"org_slug": org.slug})
    form = {"name": org.name, "slug": org.slug, "base_currency": "EUR", "country": "", "address": "", "tax_id": "",
            "require_two_factor": "on"}
    response = client_for(owner).post(url, form)
    assert response.status_code == 200 and "Turn on two-factor sign-in for yourself first" in response.content.decode()
    assert not organization_for_slug(org.slug).require_two_factor
    turn_on(owner)
    assert client_for(owner).post(url, form).status_code == 302
    assert organization_for_slug(org.slug).require_two_factor
    finance = add_member(org, Role.FINANCE)
    turn_on(finance)
    assert client_for(finance).post(url, {**form, "require_two_factor": ""}).status_code == 403
    assert organization_for_slug(org.slug).require_two_factor


def test_sign_ins_are_recorded_with_time_address_and_device_and_shown_to_the_person():
    user = UserFactory()
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux) TestBrowser/1.0", REMOTE_ADDR="203.0.113.7")
    assert client.post(reverse("login"), {"email": user.email, "password": PASSWORD}).status_code == 302
    event = SignInEvent.objects.get(user=user)
    assert (event.ip, event.user_agent, event.two_factor) == ("203.0.113.7", "Mozilla/5.0 (X11; Linux) TestBrowser/1.0",
                                                              False)
    Client(REMOTE_ADDR="198.51.100.9").post(reverse("login"), {"email": user.email, "password": "wrong"})
    assert SignInEvent.objects.filter(user=user).count() == 1  # failures are not sign-ins
    other = UserFactory()
    Client(REMOTE_ADDR="192.0.2.55").post(reverse("login"), {"email": other.email, "password": PASSWORD})
    page = client.get(reverse("my_sign_ins")).content.decode()
    assert "203.0.113.7" in page and "TestBrowser/1.0" in page
    assert "192.0.2.55" not in page  # nobody else's
    assert Client().get(reverse("my_sign_ins")).status_code == 302  # signed in only


def test_owners_see_the_sign_ins_of_their_members_and_nobody_else_does():
    org, owner = make_org()
    member = add_member(org, Role.FINANCE)
    Client(REMOTE_ADDR="203.0.113.8").post(reverse("login"), {"email": member.email, "password": PASSWORD})
    with tenant_context(org):
        membership = Membership.objects.get(organization=org, user=member)
    url = reverse("member_sign_ins", kwargs={"org_slug": org.slug, "pk": membership.pk})
    page = client_for(owner).get(url)
    assert page.status_code == 200 and "203.0.113.8" in page.content.decode()
    assert client_for(member).get(url).status_code == 403  # finance: not an owner
    other_org, other_owner = make_org()
    assert client_for(other_owner).get(url).status_code == 404
    # An owner of another organization cannot reach this member through their own slug either.
    foreign = reverse("member_sign_ins", kwargs={"org_slug": other_org.slug, "pk": membership.pk})
    assert client_for(other_owner).get(foreign).status_code == 404
