"""The URL × role matrix over every page under /o/<org_slug>/ (see tests/urlmatrix.py).

GET as owner, finance, viewer, outsider (a member of another organization) and anonymous:
anonymous → 302 to sign-in, outsider → 404, a role below the view's `required_role` → 403,
a POST-only view → 405 for allowed roles, otherwise 200. Every view is then POSTed its registered
form by an outsider (404), an anonymous visitor (302) and a viewer (403 on write views) and
nothing in the database changes; on write views the allowed role's identical POST does change
something (the control that the form was worth refusing).
"""

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import Role
from tests.urlmatrix import ROLES, World, all_org_patterns, changed_tables, expected_get_status, org_routes

pytestmark = pytest.mark.django_db

ROUTES = org_routes()


@pytest.fixture
def matrix_world(world):
    """The shared world (tests/conftest.py) with the matrix's objects made on first use."""
    return World(world)


def test_the_walker_finds_the_foundation_pages():
    names = {r.name for r in ROUTES}
    assert {"dashboard", "customer_list", "customer_create", "customer_detail", "customer_edit",
            "customer_archive", "customer_delete", "org_settings", "member_list", "member_role",
            "member_remove", "invitation_revoke"} <= names
    assert {"customer_archive", "org_settings", "member_role"} <= {r.name for r in ROUTES if r.is_write()}


def test_every_org_pattern_has_a_name_and_a_role():
    unnamed = [route for route, name, _cb, _kw in all_org_patterns() if not name]
    assert unnamed == [], f"patterns under /o/<org_slug>/ without a name: {unnamed}"
    unguarded = [r.name for r in ROUTES if r.required_role not in set(Role.values)]
    assert unguarded == [], f"views under /o/<org_slug>/ not wrapped in org_view(role): {unguarded}"


def test_every_org_url_name_is_unique():
    names = [r.name for r in ROUTES]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert duplicates == [], f"URL names used twice under /o/<org_slug>/: {duplicates}"


def test_every_org_url_can_be_built():
    missing = {f"{r.name} ({r.route})": r.missing_kwargs() for r in ROUTES if r.missing_kwargs()}
    assert missing == {}, (
        "these URLs take arguments the matrix does not know how to fill; register them with "
        f"register_url(name, kwarg=...) in tests/urlmatrix.py or tests/<app>/url_registry.py: {missing}"
    )


def test_the_post_only_detection_reads_the_view_decorators():
    by_name = {r.name: r for r in ROUTES}
    assert by_name["customer_archive"].methods() == {"POST"}
    assert by_name["customer_list"].methods() is None
    assert by_name["customer_list"].accepts_get()
    assert not by_name["member_role"].accepts_get()


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_get_as_each_role(matrix_world, route):
    url = route.url(matrix_world)
    login = reverse(settings.LOGIN_URL)
    wrong = []
    for role in ROLES:
        response = matrix_world.client(role).get(url)
        expected = expected_get_status(route, role)
        if response.status_code != expected:
            wrong.append(f"{role}: got {response.status_code}, expected {expected}")
        elif role == "anonymous" and not response.url.startswith(f"{login}?next="):
            wrong.append(f"anonymous redirected to {response.url}, not to sign-in")
    assert wrong == [], f"GET {url} (requires {route.required_role}): " + "; ".join(wrong)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_post_by_roles_below_the_view_changes_nothing(matrix_world, route):
    """Write views refuse a viewer (403). Read-only views may answer a viewer's POST, but it
    must change nothing: this catches a write view mistakenly declared `org_view(VIEWER)`."""
    url = route.url(matrix_world)
    data = matrix_world.post_data(route)
    refusals = {"viewer": 403, "outsider": 404, "anonymous": 302}
    if route.required_role == Role.OWNER:
        refusals["finance"] = 403
    if not route.is_write():
        refusals["viewer"] = None  # allowed in: any status but a server error, and no change
    clients = {role: matrix_world.client(role) for role in [*refusals, route.required_role]}  # logins write
    before = matrix_world.snapshot()
    for role, status in refusals.items():
        response = clients[role].post(url, data)
        if status is None:
            assert response.status_code < 500, f"POST {url} as {role}: {response.status_code}"
            if route.spec.viewer_writes:
                continue
        else:
            assert response.status_code == status, f"POST {url} as {role}: {response.status_code}, expected {status}"
        assert changed_tables(before, matrix_world.snapshot()) == [], f"POST {url} as {role} changed data"

    if route.is_write() and route.spec.post and route.spec.post_changes:
        response = clients[route.required_role].post(url, data)
        assert response.status_code in (200, 302), f"POST {url} as {route.required_role}: {response.status_code}"
        assert changed_tables(before, matrix_world.snapshot()), (
            f"control: POST {url} as {route.required_role} changed nothing; fix the registered post data "
            "or pass post_changes=False"
        )


def test_outsider_gets_404_even_for_its_own_objects_under_the_other_slug(matrix_world):
    """Organization B's owner asking for A's customer under B's own slug: not found either."""
    customer = matrix_world.get("customer")
    client = matrix_world.client("outsider")
    url = reverse("customer_detail", kwargs={"org_slug": matrix_world.other_org.slug, "pk": customer.pk})
    assert client.get(url).status_code == 404
