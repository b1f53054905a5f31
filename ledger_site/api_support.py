"""What every part of the JSON API shares: API-key authentication in the organization's
row-level-security context, the per-key rate limit, error bodies, decimal-string money,
cursor pagination and idempotent writes. The API itself is wired in ledger_site/api.py; each
app's operations are in its own `api.py`.
"""

import base64
import binascii
import contextlib
import hashlib
import json
import secrets
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import wraps
from typing import Annotated

import psycopg
from django.conf import settings
from django.db import InterfaceError, connection, transaction
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpResponse
from django.utils import timezone
from ninja import Schema
from ninja.security import HttpBearer
from pydantic import BeforeValidator, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

from accounts.models import ApiKey, Organization
from accounts.money import quantum
from ledger_site.pg import prepared, raw_connection
from ledger_site.tenancy import pooled, request_client, set_current_org, set_db_context
from reminders.webhooks import ENDPOINTS_EXIST_SQL, note_endpoints

KEY_PREFIX = "llk"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


# --- Errors -------------------------------------------------------------------------------------

class ErrorItem(Schema):
    field: str | None = None
    code: str
    message: str


class ErrorBody(Schema):
    errors: list[ErrorItem]


class ApiError(Exception):
    """An error answered with a body of (field, code, message) items."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.headers = status, headers or {}
        self.items = [{"field": field, "code": code, "message": message}]


def error_response(status: int, items: list[dict], headers=None) -> HttpResponse:
    response = HttpResponse(json.dumps({"errors": items}), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def not_found(what: str = "object") -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


# Every operation documents these, so a schema-driven client (and Schemathesis) knows them.
ERRORS = {400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody,
          429: ErrorBody}


def responses(status: int, schema) -> dict:
    return {status: schema, **ERRORS}


# --- Money and decimals -------------------------------------------------------------------------

FLOAT_MESSAGE = ('Send amounts and quantities as decimal strings, e.g. "120.50". JSON numbers are refused: '
                 "binary floating point cannot hold most decimal amounts exactly.")


def _no_json_numbers(value):
    if isinstance(value, bool | int | float):
        raise PydanticCustomError("float_money", FLOAT_MESSAGE)
    return value


DecimalStr = Annotated[str, BeforeValidator(_no_json_numbers),
                       StringConstraints(pattern=r"^\d{1,15}(\.\d{1,4})?$")]


def money(amount: Decimal, currency: str) -> str:
    """An amount as a decimal string with the currency's minor units: Decimal('120.000') → '120.00'."""
    return str(amount.quantize(quantum(currency)))


class InputSchema(Schema):
    """Request bodies: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# --- Cursor pagination --------------------------------------------------------------------------

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"id:{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = text.split(":", 1)
        if kind != "id" or not value.isdigit() or len(value) > 18:
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, "invalid_cursor", "This cursor is not one the API gave out.", "cursor") from None


def paginate(queryset, cursor: str | None, limit: int, serialize: Callable) -> dict:
    """Items after the cursor in ascending id order, and the cursor of the next page (None at the end).
    Ids only grow, so a page never repeats or skips a row however the list changes meanwhile."""
    after = decode_cursor(cursor)
    rows = list(queryset.filter(pk__gt=after).order_by("pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [serialize(r) for r in rows], "next_cursor": encode_cursor(rows[-1].pk) if more else None}


# --- API keys -----------------------------------------------------------------------------------

def hash_secret(secret: str) -> str:
    # The secret is 256 random bits: a plain SHA-256 cannot be brute-forced, and a slow password
    # hash would cost every request a hundred milliseconds.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key_token(org_id: int, key_id: int) -> tuple[str, str]:
    """(the token to show once, the secret part whose hash is stored)."""
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}_{org_id}_{key_id}_{secret}", secret


def parse_token(token: str) -> tuple[int, int, str] | None:
    parts = (token or "").split("_", 3)
    if len(parts) != 4 or parts[0] != KEY_PREFIX or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    if len(parts[1]) > 18 or len(parts[2]) > 18 or not 20 <= len(parts[3]) <= 100:
        return None
    return int(parts[1]), int(parts[2]), parts[3]


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


# Count the request in the key's current window (or start a new one) and record its use, only
# for the key whose secret matches and that is not revoked; return the seconds left in the window,
# whether the organization has an active webhook endpoint, the key row and its organization's.
# The secret's hash is compared by PostgreSQL: it is the SHA-256 of 256 random bits, so how long
# a comparison takes says nothing an attacker could use.
_KEY_COLUMNS = ", ".join(f'k."{f.column}"' for f in ApiKey._meta.concrete_fields)
_ORG_COLUMNS = ", ".join(f'o."{f.column}"' for f in Organization._meta.concrete_fields)
_USE_SQL = f"""
UPDATE accounts_apikey k SET
    window_count = CASE WHEN k.window_start > now() - %(window)s THEN k.window_count + 1 ELSE 1 END,
    window_start = CASE WHEN k.window_start > now() - %(window)s THEN k.window_start ELSE now() END,
    last_used_at = now(), last_used_ip = %(ip)s
FROM accounts_organization o
WHERE k.id = %(id)s AND k.organization_id = %(org)s AND k.secret_hash = %(hash)s AND k.revoked_at IS NULL
  AND o.id = k.organization_id
RETURNING extract(epoch FROM k.window_start + %(window)s - now()),
    ({ENDPOINTS_EXIST_SQL.format(org="k.organization_id")}), {_KEY_COLUMNS}, {_ORG_COLUMNS}
"""  # noqa: S608 - column names from the models' metadata and a constant
# The request's context (ledger_site.tenancy.set_db_context) in the same round trip: the
# organization and the client before the key is read, its creator (the actor) after.
_CONTEXT_SQL = ("SELECT set_config('app.organization_id', %(org_text)s, {local}), "
                "set_config('app.client_ip', %(ip_text)s, {local}), set_config('app.user_agent', %(agent)s, {local})")
_ACTOR_SQL = """
SELECT set_config('app.user_id', coalesce((SELECT k.created_by_id::text FROM accounts_apikey k
    WHERE k.id = %(id)s AND k.organization_id = %(org)s AND k.secret_hash = %(hash)s AND k.revoked_at IS NULL), ''),
    {local})
"""


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer llk_<org>_<key>_<secret>`. The organization in the token only says
    where to look: the key row is read under that organization's row-level security, its hash
    compared, and the request then runs in that organization's context exactly like a signed-in
    web request (ledger_site.tenancy), the key's creator as the actor.

    The context, the count, the key's read and whether the organization has webhook endpoints go
    to the database in one round trip: a pipeline, which outside a transaction the server runs as
    one implicit transaction committed at its end (no BEGIN, no COMMIT of their own), set not to
    wait for the WAL flush: a lost count or last-use time after a crash costs nothing, and every
    request would otherwise wait for one more fsync. Nothing is cached between requests, so a
    revoked key is refused from its next request on. Only a refused key costs a second query, to
    say why.

    The round trip is also the connection's health check: Django's (a `SELECT 1` on a persistent
    connection's first use in a request) is marked done when it succeeds, and a connection the
    server has closed meanwhile is replaced and the round trip made again, as the check would."""

    openapi_scheme = "bearer"

    def authenticate(self, request, token):
        parsed = parse_token(token)
        if parsed is None:
            raise ApiError(401, "invalid_key", "This API key is malformed. Send 'Authorization: Bearer llk_...'.")
        org_id, key_id, secret = parsed
        ip, agent = request_client(request)
        params = {"window": timedelta(seconds=settings.API_RATE_WINDOW_SECONDS), "ip": client_ip(request),
                  "id": key_id, "org": org_id, "hash": hash_secret(secret), "org_text": str(org_id),
                  "ip_text": ip, "agent": agent}
        try:
            row = _use_key(params)
        except (DatabaseOperationalError, InterfaceError):
            # Inside a transaction (pooled: the request's) its health check has run at its BEGIN.
            if connection.in_atomic_block or not _connection_lost():
                raise
            connection.close()  # what Django's health check does with a dead connection
            row = _use_key(params)
        connection.health_check_done = True
        if row is None:
            raise self._refused(org_id, key_id)
        key = ApiKey.from_db(connection.alias, _KEY_FIELDS, row[2:2 + len(_KEY_FIELDS)])
        key.organization = Organization.from_db(connection.alias, _ORG_FIELDS, row[2 + len(_KEY_FIELDS):])
        note_endpoints(key.organization, row[1])
        if key.window_count > settings.API_RATE_LIMIT:
            retry = max(1, int(-(-Decimal(row[0]) // 1)))
            raise ApiError(429, "rate_limited",
                           f"More than {settings.API_RATE_LIMIT} requests in {settings.API_RATE_WINDOW_SECONDS} "
                           f"seconds with this key; retry in {retry} seconds.", headers={"Retry-After": str(retry)})
        if request.method in WRITE_METHODS and not key.can_write:
            raise ApiError(403, "read_only_key", "This API key may only read; create a read-write key to change data.")
        # Like a signed-in request: the audit log records the key's creator and where the call came
        # from (set above, in the key's round trip). The actor is the creator's row, its fields
        # read only if something asks for one (most operations need its id only).
        request.org, request.api_key, request.actor = key.organization, key, _actor(key.created_by_id)
        # Like the organization of a signed-in web request: "today" and the like without a query.
        set_current_org(key.organization)
        return key

    @staticmethod
    def _refused(org_id: int, key_id: int) -> ApiError:
        """Why the key was not counted: revoked, or no such key with that secret (one answer for
        both, so a guessed id tells nothing)."""
        set_db_context(org_id, None)
        revoked = ApiKey.objects.filter(pk=key_id, organization_id=org_id, revoked_at__isnull=False).exists()
        if revoked:
            return ApiError(401, "revoked_key", "This API key was revoked.")
        return ApiError(401, "invalid_key", "This API key is not valid.")


def _use_key(params: dict):
    """The key's round trip (see ApiKeyAuth): its row and its organization's, or None."""
    local = "true" if pooled() else "false"
    pg = raw_connection()
    # Inside a transaction already (pooled, the request is one, see ledger_site.tenancy.pooled)
    # the count commits with the request's work, at its durability.
    relaxed = "" if connection.in_atomic_block else ", set_config('synchronous_commit', 'off', true)"
    with connection.wrap_database_errors, psycopg.Cursor(pg) as context, psycopg.Cursor(pg) as use, \
            psycopg.Cursor(pg) as actor:
        with pg.pipeline():
            context.execute(_CONTEXT_SQL.format(local=local) + relaxed, params)
            use.execute(_USE_SQL, params, prepare=prepared())
            actor.execute(_ACTOR_SQL.format(local=local), params)
        # Read once the pipeline has ended: a fetch inside it waits for the answer, and its end
        # (the Sync) then waits a second time.
        return use.fetchone()


def _connection_lost() -> bool:
    pg = connection.connection
    return pg is None or pg.closed or pg.broken


def _actor(user_id):
    if user_id is None:
        return None
    from django.contrib.auth import get_user_model

    return get_user_model().from_db(connection.alias, ["id"], [user_id])  # the other fields deferred


_KEY_FIELDS = [f.attname for f in ApiKey._meta.concrete_fields]
_ORG_FIELDS = [f.attname for f in Organization._meta.concrete_fields]


# --- Idempotent writes --------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
_CLAIM_SQL = """
INSERT INTO accounts_idempotentrequest (organization_id, key, request_hash, status_code, response_body, created_at)
VALUES (%s, %s, %s, 0, '', now())
ON CONFLICT (organization_id, key) DO NOTHING
RETURNING id
"""


def request_hash(request) -> str:
    """The method, path and body; a JSON body in canonical form (key order and spacing do not count)."""
    body = request.body
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def service_key(request, kind: str) -> str:
    """A key for a service's own idempotency (payments' form keys): derived from the request's
    Idempotency-Key when there is one, else fresh."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if not key:
        return f"api-{kind}-{secrets.token_hex(16)}"
    return "api-" + hashlib.sha256(f"{request.org.pk}:{kind}:{key}".encode()).hexdigest()[:40]


def json_response(status: int, schema_obj) -> HttpResponse:
    return HttpResponse(schema_obj.model_dump_json(), status=status, content_type="application/json")


def write(handler=None, *, one_service: bool = False):
    """Wrap a write operation: one transaction; with an `Idempotency-Key` header, the first
    response is stored and replayed for a retry with the same body (409 for another body).

    The handler returns (status, body): a schema instance, or a function that makes one (the
    object read back for the response). Without a key that function runs after the commit, so
    the organization-wide locks the work took (the number series, the ledger's head) are not held
    while the response is read; with a key it runs inside the transaction, because the stored
    response must be the committed one.

    `one_service=True`: the handler's only write is one call of a service that is a transaction of
    its own (`issue_invoice`, `record_payment`...); what it reads before is only looked up. Without
    a key no transaction is opened around it, so the service's is the outermost one and costs no
    savepoint (SAVEPOINT and RELEASE: two round trips per write).

    The key is claimed by inserting its row first, in the same transaction: a concurrent
    duplicate waits on the unique index until the first commits, then reads and replays its
    response. A refused request (an error) rolls the claim back with everything else, so the key
    may be retried."""
    if handler is None:
        return lambda h: write(h, one_service=one_service)

    @wraps(handler)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            with nullcontext() if one_service else transaction.atomic():
                status, body = handler(request, *args, **kwargs)
            return json_response(status, body() if callable(body) else body)
        with transaction.atomic():
            if not 1 <= len(key) <= 255 or not key.isprintable():
                raise ApiError(400, "invalid_idempotency_key", "An Idempotency-Key is 1 to 255 printable characters.",
                               IDEMPOTENCY_HEADER)
            fingerprint = request_hash(request)
            with connection.cursor() as cursor:
                cursor.execute(_CLAIM_SQL, [request.org.pk, key, fingerprint])
                claimed = cursor.fetchone()
            if claimed is None:
                return _replay(request, key, fingerprint)
            status, body = handler(request, *args, **kwargs)
            response = json_response(status, body() if callable(body) else body)
            with connection.cursor() as cursor:
                cursor.execute("UPDATE accounts_idempotentrequest SET status_code = %s, response_body = %s "
                               "WHERE id = %s", [status, response.content.decode(), claimed[0]])
            return response

    return wrapper


def _replay(request, key: str, fingerprint: str) -> HttpResponse:
    from accounts.models import IdempotentRequest

    first = IdempotentRequest.objects.get(organization=request.org, key=key)
    if first.request_hash != fingerprint:
        raise ApiError(409, "idempotency_key_reused",
                       "This Idempotency-Key was used with another request body or operation; use a new key.",
                       IDEMPOTENCY_HEADER)
    response = HttpResponse(first.response_body, status=first.status_code, content_type="application/json")
    response["Idempotent-Replayed"] = "true"
    return response


def since(value: datetime | None, field: str = "updated_since") -> datetime | None:
    """`updated_since` in UTC (a naive time is read as UTC). PostgreSQL takes offsets up to
    ±15:59 only, Python up to ±23:59: converting first accepts every offset Python does."""
    if value is None:
        return None
    if timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ApiError(422, "out_of_range", "This time is outside the range the API handles.", field) from None
