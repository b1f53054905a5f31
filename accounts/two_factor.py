"""Two-factor sign-in: TOTP (RFC 6238, pyotp) with single-use recovery codes.

A code is accepted within one 30-second step either side (clock drift) and only for a step later
than the last one accepted, so an observed code cannot be replayed. Recovery codes are stored as
password hashes (django.contrib.auth.hashers) and each works once.
"""

import secrets

import pyotp
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import TwoFactor

ISSUER = "Ledgerline"
RECOVERY_CODES = 10


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(email: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now=None) -> int | None:
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    at = now or timezone.now()
    for drift in (0, -1, 1):
        moment = at.timestamp() + drift * totp.interval
        if secrets.compare_digest(totp.at(moment), code):
            return int(moment // totp.interval)
    return None


def code_is_valid(secret: str, code: str) -> bool:
    """For enabling: does `code` match the new secret now?"""
    return _matching_step(secret, code) is not None


def new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


@transaction.atomic
def enable(user, secret: str) -> list[str]:
    """Turn two-factor on with a confirmed secret; returns the recovery codes (shown once)."""
    codes = new_recovery_codes()
    TwoFactor.objects.update_or_create(user=user, defaults={
        "secret": secret, "confirmed_at": timezone.now(), "last_step": 0,
        "recovery_hashes": [make_password(c) for c in codes]})
    return codes


def disable(user) -> None:
    TwoFactor.objects.filter(user=user).delete()


def is_enabled(user) -> bool:
    return TwoFactor.objects.filter(user=user).exists()


@transaction.atomic
def verify(user, code: str, now=None) -> bool:
    """A fresh TOTP code or an unused recovery code (which is then spent)."""
    tf = TwoFactor.objects.select_for_update().filter(user=user).first()
    if tf is None:
        return False
    step = _matching_step(tf.secret, code, now)
    if step is not None:
        if step <= tf.last_step:
            return False  # this code (or an older one) was already used
        tf.last_step = step
        tf.save(update_fields=["last_step"])
        return True
    typed = code.strip().lower()
    for n, hashed in enumerate(tf.recovery_hashes):
        if check_password(typed, hashed):
            tf.recovery_hashes = tf.recovery_hashes[:n] + tf.recovery_hashes[n + 1:]
            tf.save(update_fields=["recovery_hashes"])
            return True
    return False
