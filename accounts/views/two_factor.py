"""Two-factor pages: turning it on and off (signed in), and the second step of signing in."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from accounts import ratelimit, two_factor
from accounts.auth import remember_device
from accounts.models import User

PENDING = "two_factor_pending"  # session: (user id, time the password was right, next URL)
PENDING_SECONDS = 300
SETUP_KEY = "two_factor_setup"  # session: the key being set up, until its first code is right


def start_second_step(request, user, next_url: str):
    """The password was right and the user has two-factor on: ask for the code next."""
    request.session[PENDING] = [user.pk, time.time(), next_url]
    return redirect("login_two_factor")


def login_two_factor(request):
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending[1] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.info(request, _("Please sign in again."))
        return redirect("login")
    user = User.objects.get(pk=pending[0])
    error = None
    if request.method == "POST":
        if not ratelimit.hit("two-factor", str(user.pk), limit=settings.TWO_FACTOR_TRIES,
                             window_seconds=PENDING_SECONDS):
            error = _("Too many wrong codes. Please wait a few minutes and sign in again.")
        elif two_factor.verify(user, request.POST.get("code", "")):
            del request.session[PENDING]
            login(request, user, backend="accounts.auth.EmailBackend")
            next_url = pending[2]
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
                next_url = ""
            response = redirect(next_url or "home")
            remember_device(response, user)
            return response
        else:
            error = _("That code is not right, or it was already used.")
    return render(request, "accounts/login_two_factor.html", {"error": error},
                  status=400 if error else 200)


@login_required
def two_factor_settings(request):
    user = request.user
    enabled = two_factor.is_enabled(user)
    # Sent here by an organization that requires it (accounts.permissions): "Done" goes back there.
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    if request.method == "POST" and request.POST.get("action") == "disable" and enabled:
        if user.check_password(request.POST.get("password", "")):
            two_factor.disable(user)
            messages.success(request, _("Two-factor sign-in is off."))
            return redirect("two_factor_settings")
        messages.error(request, _("The password is not correct; two-factor sign-in stays on."))
        return redirect("two_factor_settings")
    if enabled:
        return render(request, "accounts/two_factor.html", {"enabled": True})
    secret = two_factor.pending_secret(request.session.get(SETUP_KEY))
    request.session[SETUP_KEY] = secret
    error = None
    if request.method == "POST" and request.POST.get("action") == "enable":
        if two_factor.code_is_valid(secret, request.POST.get("code", "")):
            codes = two_factor.enable(user, secret)
            del request.session[SETUP_KEY]
            return render(request, "accounts/two_factor.html", {"enabled": True, "recovery_codes": codes,
                                                             "next_url": next_url})
        error = _("That code is not right. Check the time on your phone and try the next code.")
    return render(request, "accounts/two_factor.html", {
        "enabled": False, "secret": two_factor.shown_secret(secret),
        "uri": two_factor.provisioning_uri(user.email, secret), "error": error, "next_url": next_url,
    }, status=400 if error else 200)
