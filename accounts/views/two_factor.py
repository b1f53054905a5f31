"""Two-factor pages: turning it on and off (signed in), and the second step of signing in, with an
authenticator-app code (TOTP) or a passkey (WebAuthn, accounts/passkeys.py)."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import passkeys, ratelimit, two_factor
from accounts.auth import remember_device
from accounts.models import User

PENDING = "two_factor_pending"  # session: (user id, time the password was right, next URL)
PENDING_SECONDS = 300
SETUP_KEY = "two_factor_setup"  # session: the key being set up, until its first code is right


def start_second_step(request, user, next_url: str):
    """The password was right and the user has two-factor on: ask for the code next."""
    request.session[PENDING] = [user.pk, time.time(), next_url]
    return redirect("login_two_factor")


def _pending_user(request):
    """The person whose password was right a moment ago in this session, or None."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending[1] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None, None
    return User.objects.get(pk=pending[0]), pending


def _finish_sign_in(request, user, pending) -> str:
    """The second factor was right: sign in; the address to go to next."""
    del request.session[PENDING]
    login(request, user, backend="accounts.auth.EmailBackend")
    next_url = pending[2]
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    return next_url or reverse("home")


def _try_allowed(user) -> bool:
    """Wrong codes and failed passkeys share one budget per person (TWO_FACTOR_TRIES)."""
    return ratelimit.hit("two-factor", str(user.pk), limit=settings.TWO_FACTOR_TRIES, window_seconds=PENDING_SECONDS)


def login_two_factor(request):
    user, pending = _pending_user(request)
    if user is None:
        messages.info(request, _("Please sign in again."))
        return redirect("login")
    error = None
    if request.method == "POST":
        if not _try_allowed(user):
            error = _("Too many wrong codes. Please wait a few minutes and sign in again.")
        elif two_factor.verify(user, request.POST.get("code", "")):
            response = redirect(_finish_sign_in(request, user, pending))
            remember_device(response, user)
            return response
        else:
            error = _("That code is not right, or it was already used.")
    return render(request, "accounts/login_two_factor.html", {
        "error": error, "totp": two_factor.totp_enabled(user), "passkeys": passkeys.has_passkeys(user),
    }, status=400 if error else 200)


@require_POST
def login_passkey_options(request):
    user, _pending = _pending_user(request)
    if user is None or not passkeys.has_passkeys(user):
        return JsonResponse({"error": _("Please sign in again.")}, status=400)
    return _json_text(passkeys.authentication_options(request, user))


@require_POST
def login_passkey(request):
    user, pending = _pending_user(request)
    if user is None:
        return JsonResponse({"error": _("Please sign in again.")}, status=400)
    if not _try_allowed(user):
        return JsonResponse({"error": _("Too many wrong codes. Please wait a few minutes and sign in again.")},
                            status=429)
    try:
        passkeys.authenticate(request, user, request.POST.get("credential", ""))
    except passkeys.PasskeyError as e:
        return JsonResponse({"error": str(e)}, status=400)
    response = JsonResponse({"redirect": _finish_sign_in(request, user, pending)})
    remember_device(response, user)
    return response


def _json_text(text: str):
    return HttpResponse(text, content_type="application/json")


@login_required
@require_POST
def passkey_options(request):
    return _json_text(passkeys.registration_options(request, request.user))


@login_required
@require_POST
def passkey_add(request):
    try:
        passkey = passkeys.register(request, request.user, request.POST.get("credential", ""),
                                    request.POST.get("name", ""))
    except passkeys.PasskeyError as e:
        return JsonResponse({"error": str(e)}, status=400)
    messages.success(request, _("Passkey “%(name)s” added.") % {"name": passkey.name})
    return JsonResponse({"redirect": reverse("two_factor_settings")})


@login_required
@require_POST
def passkey_remove(request, pk: int):
    if not request.user.check_password(request.POST.get("password", "")):
        messages.error(request, _("The password is not correct; the passkey stays."))
    elif passkeys.remove(request.user, pk):
        messages.success(request, _("Passkey removed."))
    return redirect("two_factor_settings")


@login_required
def two_factor_settings(request):
    user = request.user
    enabled = two_factor.totp_enabled(user)
    keys = {"passkeys": list(user.passkeys.all())}
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
        return render(request, "accounts/two_factor.html", {"enabled": True, **keys})
    secret = two_factor.pending_secret(request.session.get(SETUP_KEY))
    request.session[SETUP_KEY] = secret
    error = None
    if request.method == "POST" and request.POST.get("action") == "enable":
        if two_factor.code_is_valid(secret, request.POST.get("code", "")):
            codes = two_factor.enable(user, secret)
            del request.session[SETUP_KEY]
            return render(request, "accounts/two_factor.html", {"enabled": True, "recovery_codes": codes,
                                                             "next_url": next_url, **keys})
        error = _("That code is not right. Check the time on your phone and try the next code.")
    return render(request, "accounts/two_factor.html", {
        "enabled": False, "secret": two_factor.shown_secret(secret),
        "uri": two_factor.provisioning_uri(user.email, secret), "error": error, "next_url": next_url, **keys,
    }, status=400 if error else 200)
