"""Sign-in history (issue 22): every successful sign-in, with when, from where and with what."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts import two_factor
from accounts.auth import client_ip
from accounts.models import SignInEvent

SHOWN = 50  # the most recent sign-ins a page lists


@receiver(user_logged_in, dispatch_uid="accounts.sign_ins.record")
def record(sender, request, user, **kwargs):
    if request is None:
        return
    SignInEvent.objects.create(
        user=user, ip=client_ip(request) or None,
        user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:300],
        two_factor=two_factor.is_enabled(user),
    )


def recent(user):
    return SignInEvent.objects.filter(user=user).order_by("-at")[:SHOWN]
