"""Issue 22: sweep every URL pattern outside /o/<org_slug>/ (the URL matrix covers those) as an
anonymous visitor, an outsider and each role of organization A, by GET and by an empty POST.

Every pattern must be classified in tests/site_urls.py (api/ and p/ by prefix), so a new page is
swept, or named here, without anyone remembering to. For each: no 5xx; the kind's answer (sign-in
redirect for a signed-in page, 401 for the API whatever the session, a refusal for forged tokens);
no page shows the other organization's name; and no tenant row of any organization changes.
"""

import pytest
from django.urls import reverse

from tests.site_urls import API, FORGED, PUBLIC, SIGNED_IN, TOKEN, classify
from tests.urlmatrix import ORG_KWARG, ROLES, World, _walk, load_registrations

pytestmark = pytest.mark.django_db


def site_patterns():
    from django.urls import get_resolver

    load_registrations()
    return [(route, name, kwargs) for route, name, _cb, kwargs in _walk(get_resolver().url_patterns)
            if ORG_KWARG not in kwargs]


PATTERNS = site_patterns()
PUBLIC_API = {"api:openapi-json", "api:openapi-view"}  # the API's description, no data


def test_every_pattern_outside_organizations_is_named_and_classified():
    assert [route for route, name, _ in PATTERNS if not name] == []
    unclassified = [f"{route} ({name})" for route, name, _ in PATTERNS if classify(route, name) is None]
    assert unclassified == [], ("classify these in tests/site_urls.py (register_site_url) so the URL sweep "
                                f"covers them: {unclassified}")
    kinds = {classify(route, name).kind for route, name, _ in PATTERNS}
    assert kinds == {PUBLIC, SIGNED_IN, TOKEN, API}


@pytest.fixture
def matrix_world():
    return World()


def tenant_digest(owner_sql) -> dict[str, str]:
    """Every tenant table of every organization, read past RLS."""
    tables = [row[0] for row in owner_sql.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'"
        " WHERE c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
        " AND a.attname = 'organization_id' AND NOT a.attisdropped) ORDER BY 1")]
    digest = {}
    for table in tables:
        digest[table] = owner_sql.execute(
            f"SELECT count(*) || ':' || md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), ''))"
            f' FROM "{table}" t').fetchone()[0]
    return digest


def build(route_kwargs, name, spec) -> str:
    values = {**{k: FORGED.get(k, "1") for k in route_kwargs}, **spec.kwargs}
    return reverse(name, kwargs=values)


def expected(kind: str, name: str, role: str, spec) -> tuple[int, ...]:
    if kind == PUBLIC:
        return spec.statuses or (200,)
    if kind == SIGNED_IN:
        return (302,) if role == "anonymous" else (spec.statuses or (200,))
    if kind == API:  # a session never opens the API (405: a POST-only operation)
        return (200,) if name in PUBLIC_API else (spec.statuses or (401, 405))
    # TOKEN: a forged token opens nothing (pages that say "invalid link" register their 200).
    return spec.statuses or (400, 404, 405, 410)


@pytest.mark.parametrize(("route", "name", "route_kwargs"), PATTERNS, ids=[f"{p[1]}" for p in PATTERNS])
def test_sweep(route, name, route_kwargs, matrix_world, owner_sql):
    spec = classify(route, name)
    url = build(route_kwargs, name, spec)
    before = tenant_digest(owner_sql)
    foreign = {"owner": "Matrix B", "finance": "Matrix B", "viewer": "Matrix B", "outsider": "Matrix A",
               "anonymous": "Matrix "}
    for role in ROLES:
        for method in ("get", "post"):
            client = matrix_world.client(role)
            response = getattr(client, method)(url)
            where = f"{method.upper()} {url} as {role}"
            assert response.status_code < 500, where
            body = b"".join(response) if response.streaming else response.content
            assert foreign[role].encode() not in body, f"{where} shows another organization's name"
            if method == "get":
                assert response.status_code in expected(spec.kind, name, role, spec), (
                    f"{where}: {response.status_code}")
                if spec.kind == SIGNED_IN and role == "anonymous":
                    assert response.url.startswith(reverse("login")), where
            elif spec.kind in (API, TOKEN) and name not in PUBLIC_API:
                refused = (400, 401, 403, 404, 405, 410, *spec.statuses)
                assert response.status_code in refused, f"{where}: {response.status_code}"
    assert tenant_digest(owner_sql) == before, f"{url}: a request outside any organization changed tenant rows"
