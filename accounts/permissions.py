"""The one place that decides who may open an organization's page.

Every view under /o/<org_slug>/ is wrapped in `org_view(role)`. The tenancy middleware has
already answered 404 to non-members; here anonymous users go to sign-in and members whose
role is below what the view needs get 403.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Role


def org_view(role: str = Role.VIEWER):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.membership is None:
                raise Http404
            if not request.membership.has_role(role):
                raise PermissionDenied
            kwargs.pop("org_slug", None)
            return view(request, *args, **kwargs)

        wrapper.required_role = role
        return wrapper

    return decorator


def can(request, role: str) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.has_role(role)
