"""Every URL under /o/<org_slug>/, buildable with real objects, for the URL × role matrix.

`org_routes()` walks the URL resolver, so a new app's pages are picked up without anyone
listing them. A route whose pattern has arguments besides `org_slug` must say how to fill them:

    from tests.urlmatrix import register_object, register_url

    @register_object("invoice")
    def _invoice(world):             # every callable runs inside tenant_context(world.org, world.owner)
        return make_invoice(world.org, world.get("customer"))

    register_url("invoice_detail", pk="invoice")                 # a name: that object's pk
    register_url("report_month", year=lambda world: 2026)        # or any value from a callable
    register_url("invoice_issue", pk="invoice", post=lambda world: {"key": "x"})

Put an app's registrations in `tests/<app>/url_registry.py` (found automatically) or here.
`post` is a valid form for the write; the matrix checks that a viewer's POST changes nothing
(on every page: a write view declared `org_view(VIEWER)` by mistake is caught) and, as a
control, that the allowed role's identical POST changes something (pass `post_changes=False`
where a valid POST legitimately changes no row; `viewer_writes=True` for a viewer-level page
whose POST may write, e.g. a personal preference). `get_status` overrides
the 200 expected for a GET by an allowed role (e.g. a page that redirects).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Invitation, Membership, Role
from ledger_site.tenancy import tenant_context
from tests import factories

ORG_KWARG = "org_slug"
ROLES = ("owner", "finance", "viewer", "outsider", "anonymous")
TESTS_DIR = Path(__file__).resolve().parent


@dataclass
class UrlSpec:
    kwargs: dict[str, str | Callable[[World], Any]] = field(default_factory=dict)
    post: Callable[[World], dict] | None = None
    post_changes: bool = True
    viewer_writes: bool = False
    get_status: int = 200
    methods: tuple[str, ...] | None = None


OBJECTS: dict[str, Callable[[World], Any]] = {}
URLS: dict[str, UrlSpec] = {}


def register_object(name: str):
    """Decorator: how to make the fixture object `name` for a world (called at most once)."""

    def decorator(factory):
        # Two registries naming the same object would silently replace one another's factory.
        if name in OBJECTS and OBJECTS[name] is not factory:
            raise ValueError(f"URL matrix object {name!r} is registered twice ({OBJECTS[name].__module__} "
                             f"and {factory.__module__}); give one another name")
        OBJECTS[name] = factory
        return factory

    return decorator


def register_url(url_name: str, *, post=None, post_changes=True, viewer_writes=False, get_status=200,
                 methods=None, **kwargs):
    if url_name in URLS:
        raise ValueError(f"URL {url_name!r} is registered twice in the URL matrix")
    URLS[url_name] = UrlSpec(kwargs=kwargs, post=post, post_changes=post_changes, viewer_writes=viewer_writes,
                             get_status=get_status, methods=tuple(methods) if methods else None)


# --------------------------------------------------------------------------- the world


class World(factories.World):
    """The shared world (tests/factories.py: organization A with an owner, a finance member and a
    viewer; organization B whose owner is the outsider), or the one given, with the objects named
    in URLs made on first use, in A's context."""

    def __init__(self, base: factories.World | None = None):
        base = base or factories.World(a={"name": "Matrix A", "slug": "matrix-a"},
                                       b={"name": "Matrix B", "slug": "matrix-b"})
        self.__dict__.update(vars(base))
        self._objects: dict[str, Any] = {}

    def get(self, name: str):
        if name not in self._objects:
            if name not in OBJECTS:
                raise LookupError(f"no fixture object called {name!r}: add @register_object({name!r})")
            with tenant_context(self.org, self.owner):
                self._objects[name] = OBJECTS[name](self)
        return self._objects[name]

    def call(self, fn):
        """Run a registered callable (kwarg value, POST data) in A's context, as its owner."""
        with tenant_context(self.org, self.owner):
            return fn(self)

    def post_data(self, route) -> dict:
        return self.call(route.spec.post) if route.spec.post else {}

    def snapshot(self) -> dict[str, str]:
        """A digest of every table as organization A's context sees it (sessions excepted). The
        task queue's tables are the worker's (accounts 0029): the queue counts what was queued."""
        with tenant_context(self.org), connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                           " AND tablename <> 'django_session' AND tablename NOT LIKE 'django\\_q\\_%%'"
                           " ORDER BY tablename")
            tables = [row[0] for row in cursor.fetchall()]
            digests = {}
            for table in tables:
                cursor.execute(
                    f'SELECT count(*), md5(coalesce(string_agg(md5(t::text), \'\' ORDER BY md5(t::text)), \'\'))'
                    f' FROM "{table}" t'
                )
                count, digest = cursor.fetchone()
                digests[table] = f"{count}:{digest}"
            cursor.execute("SELECT depth FROM ledger_queue_health('')")
            digests["django_q_ormq (depth)"] = str(cursor.fetchone()[0])
        return digests


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))


# --------------------------------------------------------------------------- the routes


@dataclass
class Route:
    name: str
    route: str
    callback: Callable
    kwargs: tuple[str, ...]

    @property
    def required_role(self) -> str | None:
        return getattr(self.callback, "required_role", None)

    @property
    def spec(self) -> UrlSpec:
        return URLS.get(self.name) or URLS.get(self.name.rpartition(":")[2]) or UrlSpec()

    @property
    def extra_kwargs(self) -> tuple[str, ...]:
        return tuple(k for k in self.kwargs if k != ORG_KWARG)

    def methods(self) -> set[str] | None:
        """The HTTP methods the view accepts, or None for any."""
        if self.spec.methods:
            return set(self.spec.methods)
        return allowed_methods(self.callback)

    def accepts_get(self) -> bool:
        methods = self.methods()
        return methods is None or "GET" in methods

    def is_write(self) -> bool:
        role = self.required_role
        return role is not None and Role.rank(role) > Role.rank(Role.VIEWER)

    def missing_kwargs(self) -> list[str]:
        return [k for k in self.extra_kwargs if k not in self.spec.kwargs]

    def url(self, world: World, org=None) -> str:
        missing = self.missing_kwargs()
        if missing:
            raise LookupError(
                f"{self.route} ({self.name}): no way to build {missing}; "
                f"add register_url({self.name.rpartition(':')[2]!r}, {missing[0]}=...) in tests/urlmatrix.py "
                f"or tests/<app>/url_registry.py"
            )
        kwargs = {ORG_KWARG: (org or world.org).slug}
        for key, source in self.spec.kwargs.items():
            kwargs[key] = world.call(source) if callable(source) else world.get(source).pk
        return reverse(self.name, kwargs=kwargs)

    def __str__(self):
        return self.name


def allowed_methods(view) -> set[str] | None:
    """Read the method list of Django's require_http_methods/require_POST from the closure of
    any wrapper in the chain (or an explicit `allowed_methods` attribute)."""
    fn = view
    while fn is not None:
        explicit = getattr(fn, "allowed_methods", None)
        if explicit:
            return set(explicit)
        try:
            nonlocals = inspect.getclosurevars(fn).nonlocals
        except (TypeError, ValueError):
            nonlocals = {}
        if "request_method_list" in nonlocals:
            return set(nonlocals["request_method_list"])
        fn = getattr(fn, "__wrapped__", None)
    return None


def _pattern_kwargs(pattern) -> list[str]:
    converters = getattr(pattern, "converters", None)
    if converters is not None:
        return list(converters)
    return list(pattern.regex.groupindex)


def _walk(patterns, prefix="", kwargs=(), namespace=""):
    for entry in patterns:
        here = prefix + str(entry.pattern)
        names = (*kwargs, *_pattern_kwargs(entry.pattern))
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _walk(entry.url_patterns, here, names, ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield here, name, entry.callback, tuple(names)


def load_registrations() -> None:
    """Import every tests/**/url_registry*.py so apps' registrations are in place."""
    for path in sorted(TESTS_DIR.rglob("url_registry*.py")):
        module = ".".join(path.relative_to(TESTS_DIR.parent).with_suffix("").parts)
        importlib.import_module(module)


def all_org_patterns() -> list[tuple[str, str | None, Callable, tuple[str, ...]]]:
    """Every pattern of the URLconf that takes an `org_slug`, named or not."""
    return [p for p in _walk(get_resolver().url_patterns) if ORG_KWARG in p[3]]


def org_routes() -> list[Route]:
    load_registrations()
    return [Route(name, route, callback, kwargs)
            for route, name, callback, kwargs in all_org_patterns() if name]


def expected_get_status(route: Route, role: str) -> int:
    if role == "anonymous":
        return 302
    if role == "outsider":
        return 404
    if not Role.rank(role) >= Role.rank(route.required_role):
        return 403
    if not route.accepts_get():
        return 405
    return route.spec.get_status


# --------------------------------------------------------------------------- accounts


@register_object("customer")
def _customer(world):
    from tests.factories import CustomerFactory

    return CustomerFactory(organization=world.org, name="Matrix Customer", code="MATRIX")


@register_object("membership")
def _membership(world):
    return Membership.objects.get(organization=world.org, user=world.finance)


@register_object("invitation")
def _invitation(world):
    return Invitation.objects.create(organization=world.org, email="invitee@example.com",
                                     role=Role.FINANCE, invited_by=world.owner)


def _customer_form(world, **changes):
    data = {"name": "Posted Customer", "code": "POSTED", "billing_emails": "ap@posted.example",
            "contact_person": "", "phone": "", "billing_address": "", "tax_id": "",
            "currency": "EUR", "payment_terms_days": "30", "credit_limit": "0", "language": "en",
            "tags": "", "notes": ""}
    data.update(changes)
    return data


register_url("customer_create", post=_customer_form)
register_url("customer_detail", pk="customer")
register_url("customer_edit", pk="customer",
             post=lambda w: _customer_form(w, name="Renamed", code="MATRIX"))
register_url("customer_archive", pk="customer", post=lambda w: {"archive": "1"})


@register_object("bulk_customer")
def _bulk_customer(world):
    from tests.factories import CustomerFactory

    return CustomerFactory(organization=world.org, name="Bulk Customer", code="BULKC")


register_url("customer_bulk", methods=["POST"],
             post=lambda w: {"action": "archive", "ids": [w.get("bulk_customer").pk]})
register_url("customer_delete", pk="customer", post=lambda w: {})
register_url("org_settings", post=lambda w: {"name": "Renamed Org", "slug": w.org.slug,
                                             "base_currency": "EUR", "country": "DE",
                                             "address": "", "tax_id": ""})
register_url("member_list", post=lambda w: {"email": "new.person@example.com", "role": "finance"})
register_url("member_role", pk="membership", post=lambda w: {"role": "owner"})
register_url("member_remove", pk="membership", post=lambda w: {})
register_url("member_sign_ins", pk="membership")
register_url("invitation_revoke", pk="invitation", post=lambda w: {})
