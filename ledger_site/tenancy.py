"""Tenant context: which organization (and user) the current database session acts for.

Two layers keep organizations apart. The application resolves the organization from the URL
(`/o/<org_slug>/...`), checks membership and scopes its queries. Underneath, PostgreSQL
row-level security policies compare every tenant row's `organization_id` with the session
setting `app.organization_id` set here, so a query that forgets its filter sees nothing foreign.
"""

from contextlib import contextmanager, nullcontext
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.signals import request_finished
from django.db import DatabaseError, connection, transaction
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils import timezone

# The Organization instance the current request or task acts for, when one was loaded: lets
# `organization_of()` answer "today in this organization" without a query per row.
_current_org: ContextVar = ContextVar("ledgerline_current_org", default=None)


def current_organization():
    return _current_org.get()


def set_current_org(org) -> None:
    """The request acts for `org` (loaded), which the request's database context already names:
    the API's key authentication. TenantMiddleware resets it when the request ends."""
    _current_org.set(org)


def organization_of(obj):
    """`obj.organization` for a tenant row, without a query when the row's organization is
    already loaded or is the one the current request/task acts for."""
    field = type(obj)._meta.get_field("organization")
    if field.is_cached(obj):
        return obj.organization
    current = _current_org.get()
    if current is not None and current.pk == obj.organization_id:
        return current
    try:
        return obj.organization
    except ObjectDoesNotExist:
        # Outside any context the organization's row is not visible (accounts migration 0029): the
        # row in hand was read in its organization's context, so read its organization in that
        # same context.
        from accounts.org_directory import load

        organization = load(obj.organization_id)
        field.set_cached_value(obj, organization)
        return organization


def pooled() -> bool:
    """Behind a transaction-mode pooler (PgBouncer, LEDGER_DB_POOLED=True): consecutive transactions
    of one Django connection may run on different server sessions, and a server session serves
    other clients in between, so a session-level setting could reach another request. Then a
    request is one transaction and the tenant context is transaction-local (gone at its end)."""
    return getattr(settings, "LEDGER_DB_POOLED", False)


def set_db_context(org_id=None, user_id=None, client=("", "")) -> None:
    """`client`: (IP address, user agent) of the request, for the audit log (accounts.audit).

    Session-level on a direct connection: TenantMiddleware sets it at the start of every request
    and clears it at the end, so a persistent connection (CONN_MAX_AGE) starts each request empty.
    Pooled (see `pooled`): transaction-local, so it ends with the transaction whatever happens."""
    local = "true" if pooled() and connection.in_atomic_block else "false"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT set_config('app.organization_id', %s, {local}),"  # noqa: S608 - true or false
            f" set_config('app.user_id', %s, {local}),"
            f" set_config('app.client_ip', %s, {local}), set_config('app.user_agent', %s, {local})",
            ["" if org_id is None else str(org_id), "" if user_id is None else str(user_id),
             client[0], client[1]],
        )


def request_client(request) -> tuple[str, str]:
    return (request.META.get("REMOTE_ADDR") or "")[:45], (request.META.get("HTTP_USER_AGENT") or "")[:300]


def current_org_id() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT NULLIF(current_setting('app.organization_id', true), '')")
        value = cursor.fetchone()[0]
    return int(value) if value else None


@contextmanager
def tenant_context(org, user=None):
    """Act for `org` (an Organization or its id) inside the block: background tasks,
    management commands, public links. Restores the previous context afterwards. Pooled (see
    `pooled`), outside a transaction, the block is one transaction, so its statements share one
    server session and the context ends with it."""
    with transaction.atomic() if pooled() and not connection.in_atomic_block else nullcontext(), \
            _tenant_context(org, user):
        yield


@contextmanager
def _tenant_context(org, user=None):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('app.organization_id', true), current_setting('app.user_id', true)"
        )
        previous = cursor.fetchone()
    set_db_context(getattr(org, "pk", org), getattr(user, "pk", user))
    loaded = hasattr(org, "_state") and not org._state.adding  # not a bare Organization(pk=...)
    current = _current_org.get()
    if not loaded and current is not None and current.pk == getattr(org, "pk", org):
        org, loaded = current, True  # the same organization by id: keep the loaded one
    token = _current_org.set(org if loaded else None)
    try:
        yield
    finally:
        _current_org.reset(token)
        set_db_context(previous[0] or None, previous[1] or None)


API_PATH = "/api/"


# A request on a direct connection whose context is cleared once its response is sent.
_clear_pending: ContextVar[bool] = ContextVar("ledgerline_clear_context_pending", default=False)


def _clear_db_context(**kwargs) -> None:
    """request_finished: the server has sent the response and closed it. The signal, not the
    response object: a middleware above may have answered with another response (a redirect for a
    missing slash). A connection Django has closed meanwhile (its own receiver runs first) has no
    context left; one that fails now is closed (a new one starts empty)."""
    if not _clear_pending.get():
        return
    _clear_pending.set(False)
    if connection.connection is None:
        return
    try:
        set_db_context(None, None)
    except DatabaseError:
        connection.close()


request_finished.connect(_clear_db_context)


class TenantMiddleware:
    """Sets the database context for every request and attaches `request.org` and
    `request.membership` for URLs under /o/<org_slug>/. A non-member gets 404, so an
    organization's existence is never revealed. On those URLs the organization's time zone is the
    active one: times of day on its pages (and typed into its forms) are on its wall clock."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if pooled():  # the whole request one transaction, the context local to it (see `pooled`)
            with transaction.atomic():
                return self._handle(request)
        return self._handle(request)

    def _handle(self, request):
        from accounts.models import Membership

        request.org = None
        request.membership = None
        user_id = request.user.pk if request.user.is_authenticated else None
        client = request_client(request)
        if not request.path_info.startswith(API_PATH):
            # The API's key authentication sets the whole context (organization, user, client) in its
            # own round trip before the request's first query (ledger_site.api_support.ApiKeyAuth); an
            # API request without a valid key makes none. The reset at the end is for every request.
            set_db_context(None, user_id, client)
        try:
            slug = self._org_slug(request)
            if slug and user_id:
                membership = (
                    Membership.objects.select_related("organization")
                    .filter(user_id=user_id, organization__slug=slug)
                    .first()
                )
                if membership is None:
                    raise Http404
                request.membership = membership
                request.org = membership.organization
                set_db_context(request.org.pk, user_id, client)
                # Times of day on the organization's pages are on its wall clock (the zone of its "today").
                timezone.activate(request.org.zone)
            token = _current_org.set(request.org)
            try:
                response = self.get_response(request)
            finally:
                _current_org.reset(token)
        except BaseException:
            set_db_context(None, None)
            raise
        finally:
            timezone.deactivate()
        if pooled() or response.streaming:
            # Pooled: inside the request's transaction (see __call__). A stream is sent as it is read,
            # maybe never to the end: its context is cleared now, as it always was.
            set_db_context(None, None)
        else:
            # Once the response is sent (request_finished): the client does not wait for this round
            # trip, and the connection is clean before the thread serves another request.
            _clear_pending.set(True)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Check the role a view declares (`org_view` sets `.required_role`) before the view's
        other decorators run, so a method check never answers before the role check does."""
        role = getattr(view_func, "required_role", None)
        if role is None:
            return None
        from accounts.permissions import check_access

        return check_access(request, role)

    @staticmethod
    def _org_slug(request):
        try:
            return resolve(request.path_info).kwargs.get("org_slug")
        except Resolver404:
            return None


def tenant_context_processor(request):
    org = getattr(request, "org", None)
    memberships = []
    if request.user.is_authenticated:
        from accounts.models import Membership

        memberships = list(
            Membership.objects.filter(user=request.user)
            .select_related("organization")
            .order_by("organization__name")
        )
    from accounts.locale import js_marks
    from ledger_site.guide import topic_for_path
    from ledger_site.navigation import nav_items

    return {
        "number_marks": js_marks(),
        "guide_topic": topic_for_path(request.path, org.slug) if org else "",
        "org": org,
        "nav_items": nav_items(request),
        "membership": getattr(request, "membership", None),
        "my_memberships": memberships,
    }
