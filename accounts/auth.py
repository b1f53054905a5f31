"""Sign-in by e-mail, with throttling of repeated failures that cannot be used to lock people out.

Failures are counted per (account, client) and per client, never per account alone: an attacker
slows down only their own client. Past a few free failures each further try must wait twice as
long as the one before (LOGIN_DELAY_BASE_SECONDS, doubling, capped at LOGIN_DELAY_MAX_SECONDS).
Nothing is refused for long, and another client — the account's owner — is never affected. A
browser that has signed in to the account before carries a signed "known device" cookie; it skips
the delays, and any successful sign-in or password reset clears the account's failures.

The client is REMOTE_ADDR, unless REMOTE_ADDR is one of TRUSTED_PROXIES: then it is the right-most
address of X-Forwarded-For that is not itself a trusted proxy (what a client puts further left is
spoofable and is never read).
"""

import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core import signing
from django.db.models import Count, Max
from django.utils import timezone

from accounts.models import LoginAttempt, User

DEVICE_COOKIE = "ll_device"
DEVICE_SALT = "ledgerline.known-device"


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip().lower()
        if not email or password is None:
            return None
        try:
            user = User.objects.get(email=email)
        except User.DoesNotExist:
            User().set_password(password)  # same work either way: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def _networks():
    return [ipaddress.ip_network(n.strip(), strict=False) for n in settings.TRUSTED_PROXIES if n.strip()]


def _parse(address):
    try:
        return ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    networks = _networks()

    def trusted(ip):
        return ip is not None and any(ip in net for net in networks)

    if not networks or not trusted(_parse(remote)):
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _parse(hop)
        if ip is None:
            break  # garbage where a trusted proxy should have written an address
        if not trusted(ip):
            return str(ip)
    return remote


def _delay(failures: int, free: int) -> int:
    if failures < free:
        return 0
    return min(settings.LOGIN_DELAY_MAX_SECONDS, settings.LOGIN_DELAY_BASE_SECONDS * 2 ** (failures - free))


def retry_after(email: str, ip: str | None, request=None) -> int:
    """Seconds this client must wait before trying this account again (0: go ahead)."""
    email = email.strip().lower()
    if request is not None and is_known_device(request, email):
        return 0
    now = timezone.now()
    recent = LoginAttempt.objects.filter(at__gte=now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS),
                                         ip_address=ip)
    waits = []
    pair = recent.filter(email=email).aggregate(n=Count("id"), last=Max("at"))
    waits.append((pair, settings.LOGIN_FREE_FAILURES))
    if ip:  # one client guessing across many accounts
        waits.append((recent.aggregate(n=Count("id"), last=Max("at")), settings.LOGIN_CLIENT_FREE_FAILURES))
    longest = 0.0
    for agg, free in waits:
        if agg["n"]:
            until = agg["last"] + timedelta(seconds=_delay(agg["n"], free))
            longest = max(longest, (until - now).total_seconds())
    return int(longest + 0.999) if longest > 0 else 0


def record_failure(email: str, ip: str | None) -> None:
    LoginAttempt.objects.create(email=email.strip().lower()[:254], ip_address=ip)


def clear_failures(email: str) -> None:
    LoginAttempt.objects.filter(email=email.strip().lower()).delete()


def remember_device(response, user) -> None:
    """Mark this browser as one that has signed in to `user` (a signed, random, expiring value)."""
    value = signing.dumps({"u": user.pk, "n": secrets.token_urlsafe(12)}, salt=DEVICE_SALT, compress=True)
    response.set_cookie(DEVICE_COOKIE, value, max_age=settings.KNOWN_DEVICE_MAX_AGE_SECONDS, httponly=True,
                        secure=settings.SESSION_COOKIE_SECURE, samesite="Lax")


def is_known_device(request, email: str) -> bool:
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value:
        return False
    try:
        data = signing.loads(value, salt=DEVICE_SALT, max_age=settings.KNOWN_DEVICE_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    return User.objects.filter(pk=data.get("u"), email=email.strip().lower()).exists()
