"""The customer picker's lookup endpoint (/o/<slug>/customers/lookup/): what it matches, how many,
whose customers, and who may ask."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.customer_picker import SUGGESTIONS
from accounts.models import Customer, Role
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, UserFactory, add_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def lookup_org():
    org, owner = make_org(slug="lookup-shop")
    with tenant_context(org, owner):
        CustomerFactory(organization=org, name="Bluebird Bakery", code="BLUE", currency="GBP", payment_terms_days=14)
        CustomerFactory(organization=org, name="Big Blue Builders", code="BBB")
        CustomerFactory(organization=org, name="Cornflower Cafe", code="CORN")
        CustomerFactory(organization=org, name="Blueprint Archive", code="ARCH", archived_at=timezone.now())
    return org, owner


def lookup(client, org, q):
    response = client.get(reverse("customer_lookup", kwargs={"org_slug": org.slug}), {"q": q})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return response.json()["results"]


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def labels(results):
    return [r["label"] for r in results]


def test_matches_code_prefix_and_name_substring_in_any_case_exact_code_first(lookup_org):
    org, owner = lookup_org
    client = signed_in(owner)
    assert labels(lookup(client, org, "blue")) == ["Bluebird Bakery (BLUE)", "Big Blue Builders (BBB)"]
    assert labels(lookup(client, org, "bb")) == ["Big Blue Builders (BBB)"]  # code prefix, not a name
    assert labels(lookup(client, org, "FLOWER")) == ["Cornflower Cafe (CORN)"]
    assert labels(lookup(client, org, "  corn ")) == ["Cornflower Cafe (CORN)"]
    assert lookup(client, org, "") == [] and lookup(client, org, "nobody") == []
    assert lookup(client, org, "%") == [] and lookup(client, org, "_") == []  # LIKE wildcards are literal


def test_a_suggestion_carries_what_the_live_editor_needs(lookup_org):
    org, owner = lookup_org
    [bluebird] = lookup(signed_in(owner), org, "bluebird")
    with tenant_context(org, owner):
        customer = Customer.objects.get(organization=org, code="BLUE")
    assert bluebird == {"id": customer.pk, "label": "Bluebird Bakery (BLUE)", "name": "Bluebird Bakery", "code": "BLUE",
                        "data": {"currency": "GBP", "minor-units": "2", "terms": "14"}, "archived": False}


def test_archived_customers_are_not_offered(lookup_org):
    org, owner = lookup_org
    client = signed_in(owner)
    assert lookup(client, org, "blueprint") == [] and lookup(client, org, "ARCH") == []


def test_at_most_twenty_suggestions(lookup_org):
    org, owner = lookup_org
    with tenant_context(org, owner):
        Customer.objects.bulk_create([Customer(organization=org, name=f"Harbour Supplies {n:02d}", code=f"HS{n:02d}",
                                               currency="EUR") for n in range(SUGGESTIONS + 5)])
    results = lookup(signed_in(owner), org, "harbour")
    assert SUGGESTIONS == 20 and len(results) == 20
    assert labels(results)[:2] == ["Harbour Supplies 00 (HS00)", "Harbour Supplies 01 (HS01)"]  # by name


def test_another_organizations_customers_are_never_suggested(lookup_org):
    org, owner = lookup_org
    other, other_owner = make_org(slug="lookup-other")
    with tenant_context(other, other_owner):
        CustomerFactory(organization=other, name="Bluefin Fisheries", code="BLUF")
    assert labels(lookup(signed_in(owner), org, "blu")) == ["Bluebird Bakery (BLUE)", "Big Blue Builders (BBB)"]
    # a member of both sees each organization's own customers under its own address
    add_member(other, Role.VIEWER, user=owner)
    assert labels(lookup(signed_in(owner), other, "blu")) == ["Bluefin Fisheries (BLUF)"]


def test_every_member_role_may_look_up(lookup_org):
    org, _owner = lookup_org
    for role in (Role.FINANCE, Role.VIEWER):
        assert labels(lookup(signed_in(add_member(org, role)), org, "corn")) == ["Cornflower Cafe (CORN)"]


def test_anonymous_and_non_members_get_no_data(lookup_org):
    org, _owner = lookup_org
    url = reverse("customer_lookup", kwargs={"org_slug": org.slug})
    anonymous = Client().get(url, {"q": "blue"})
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("login"))
    assert b"Bluebird" not in anonymous.content
    outsider = signed_in(UserFactory()).get(url, {"q": "blue"})
    assert outsider.status_code == 404 and b"Bluebird" not in outsider.content


def test_only_get(lookup_org):
    org, owner = lookup_org
    response = signed_in(owner).post(reverse("customer_lookup", kwargs={"org_slug": org.slug}), {"q": "blue"})
    assert response.status_code == 405
