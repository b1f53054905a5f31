"""Response headers every page gets (issue 22): Permissions-Policy, and Cache-Control
"private, no-store" on every response to a signed-in user (pages, exports, PDFs), so no shared or
browser cache keeps a copy of someone's ledger. The Content-Security-Policy comes from django-csp
(settings.CONTENT_SECURITY_POLICY)."""

from django.conf import settings
from django.utils.cache import patch_cache_control


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response.headers.pop("Cache-Control", None)
            patch_cache_control(response, private=True, no_store=True)
        return response
