"""The one place that decides who may open an organization's page.

Every view under /o/<org_slug>/ is wrapped in `org_view(role)`, which marks it with
`.required_role`. The tenancy middleware has already answered 404 to non-members; the same
check then runs twice: in `TenantMiddleware.process_view` (before any other decorator, so
`@require_POST` above `@org_view` still answers a viewer 403 and an anonymous visitor with the
sign-in redirect rather than 405) and in the wrapper itself (for direct calls).
Anonymous users go to sign-in; members whose role is below what the view needs get 403.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Role


def check_access(request, role: str):
    """None if the request may proceed; else a redirect to sign-in, or raises 404/403."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if getattr(request, "membership", None) is None:
        raise Http404
    if request.org.require_two_factor and not _has_two_factor(request.user):
        return _send_to_two_factor_setup(request)
    if not request.membership.has_role(role):
        raise PermissionDenied
    return None


def org_view(role: str = Role.VIEWER):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            refusal = check_access(request, role)
            if refusal is not None:
                return refusal
            kwargs.pop("org_slug", None)
            return view(request, *args, **kwargs)

        wrapper.required_role = role
        return wrapper

    return decorator


def can(request, role: str) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.has_role(role)


def _has_two_factor(user) -> bool:
    from accounts import two_factor

    return two_factor.is_enabled(user)


def _send_to_two_factor_setup(request):
    """The organization requires two-factor sign-in (issue 22): set it up, then come back."""
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.urls import reverse
    from django.utils.http import urlencode
    from django.utils.translation import gettext as _

    messages.info(request, _("%(org)s requires two-factor sign-in. Set it up to continue.")
                  % {"org": request.org.name})
    return redirect(f"{reverse('two_factor_settings')}?{urlencode({'next': request.get_full_path()})}")
