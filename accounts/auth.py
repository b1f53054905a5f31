"""Sign-in by e-mail, with throttling of repeated failures."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from accounts.models import LoginAttempt, User


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


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def is_throttled(email: str, ip: str | None) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginAttempt.objects.filter(at__gte=since)
    limit = settings.LOGIN_FAILURE_LIMIT
    if recent.filter(email=email.strip().lower()).count() >= limit:
        return True
    # An address gets more room than one account: offices share an address.
    return bool(ip) and recent.filter(ip_address=ip).count() >= limit * 4


def record_failure(email: str, ip: str | None) -> None:
    LoginAttempt.objects.create(email=email.strip().lower()[:254], ip_address=ip)


def clear_failures(email: str) -> None:
    LoginAttempt.objects.filter(email=email.strip().lower()).delete()
