"""Refuse text that PostgreSQL cannot store: a NUL character (U+0000) in a query string, a form
field or a JSON body. PostgreSQL raises on any text containing it, so without this guard a search
box or an API filter with `%00` in it answered 500. Uploaded files (multipart) are not inspected:
spreadsheets legitimately contain NUL bytes, and importers read them as files, not as text fields.
"""

from urllib.parse import unquote_to_bytes

from django.http import HttpResponse

from ledger_site.api_support import error_response

MESSAGE = "The request contains a NUL character (U+0000), which no text field can hold."


def _has_nul(request) -> bool:
    if b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return b"\x00" in unquote_to_bytes(request.body.replace(b"+", b" "))
    if content_type.startswith("application/json"):
        body = request.body
        return b"\x00" in body or b"\\u0000" in body
    return False


class NulCharacterMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            if request.path.startswith("/api/"):
                return error_response(400, [{"field": None, "code": "nul_character", "message": MESSAGE}])
            return HttpResponse(MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
