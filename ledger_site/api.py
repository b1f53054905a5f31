"""The JSON API under /api/v1/ (django-ninja): the OpenAPI document at /api/v1/openapi.json,
browsable docs at /api/v1/docs. Each app contributes its router from its own `api.py`; this
module only wires them, with the authentication and error handling they share
(ledger_site.api_support). docs/api.md describes it for API users.
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from ledger_site.api_support import ApiError, ApiKeyAuth, error_response

api = NinjaAPI(
    title="Ledgerline API",
    version="1",
    description=(
        "Receivables for one organization per API key. Amounts are decimal strings in the "
        "currency of the object that carries them; dates and times are ISO 8601. Lists are "
        "cursor-paginated. Errors are `{\"errors\": [{\"field\", \"code\", \"message\"}]}`. "
        "Writes accept an `Idempotency-Key` header. See docs/api.md."
    ),
    auth=ApiKeyAuth(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return error_response(exc.status, exc.items, exc.headers)


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    items = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "payload")]
        items.append({"field": ".".join(loc) or None, "code": error.get("type", "invalid"),
                      "message": error.get("msg", "Invalid value.").removeprefix("Value error, ")})
    return error_response(422, items)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return error_response(401, [{"field": None, "code": "not_authenticated",
                                 "message": "Send an API key: 'Authorization: Bearer llk_...'."}],
                          {"WWW-Authenticate": "Bearer"})


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    code = "malformed_body" if exc.status_code == 400 else "http_error"
    message = "The request body is not valid JSON." if code == "malformed_body" else str(exc)
    return error_response(exc.status_code, [{"field": None, "code": code, "message": message}])


@api.exception_handler(DjangoValidationError)
def _refused(request, exc: DjangoValidationError):
    """A service refused the action (LedgerError and its kin): nothing was changed."""
    items = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            items += [{"field": None if field == "__all__" else field, "code": "invalid", "message": m}
                      for m in errors]
    else:
        items = [{"field": None, "code": "refused", "message": m} for m in exc.messages]
    return error_response(422, items)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(404, [{"field": None, "code": "not_found", "message": "Not found."}])


@api.exception_handler(ObjectDoesNotExist)
def _does_not_exist(request, exc):
    return _not_found(request, exc)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return error_response(403, [{"field": None, "code": "forbidden", "message": "Not allowed."}])


def _routers():
    from accounts.api import router as accounts_router
    from invoicing.api import router as invoicing_router
    from payments.api import router as payments_router
    from reports.api import router as reports_router

    return [("", accounts_router), ("", invoicing_router), ("", payments_router), ("", reports_router)]


for prefix, router in _routers():
    api.add_router(prefix, router)


def urls():
    """The API's URL patterns. Its views run outside ATOMIC_REQUESTS: authentication records the
    key's use and counts it for the rate limit in autocommit (no row lock held for the request),
    and each write operation is one transaction of its own (api_support.write)."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback._non_atomic_requests = {"default"}
    return patterns, app_name, namespace


def not_found_handler(request, exception):
    """Django's 404 (handler404): a JSON error body under /api/ (a path no operation matches, e.g. a
    negative id), the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(404, [{"field": None, "code": "not_found", "message": "No such API path."}])
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
