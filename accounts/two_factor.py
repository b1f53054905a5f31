"""Two-factor sign-in: TOTP (RFC 6238, pyotp) with single-use recovery codes.

A code is accepted within one 30-second step either side (clock drift) and only for a step later
than the last one accepted, so an observed code cannot be replayed. Recovery codes are stored as
password hashes (django.contrib.auth.hashers) and each works once. The TOTP key itself must be
read back, so it is stored encrypted (accounts.secret_box), also while a setup is pending in the
session; a key that cannot be opened (SECRET_KEY changed without its fallback) refuses the code and
logs why, rather than failing the sign-in page.
"""

import logging
import secrets

import pyotp
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import TwoFactor
from accounts.secret_box import SealedSecretError, seal, unseal

log = logging.getLogger("accounts.two_factor")

ISSUER = "Ledgerline"
RECOVERY_CODES = 10


def new_secret() -> str:
    """A new TOTP key, sealed: what the setup page keeps in the session until it is confirmed."""
    return seal(pyotp.random_base32())


def pending_secret(kept: str | None) -> str:
    """The setup's sealed key kept in the session, or a new one when there is none or it cannot be
    opened any more (kept before a SECRET_KEY change)."""
    try:
        unseal(kept or "")
        return kept
    except SealedSecretError:
        return new_secret()


def shown_secret(sealed: str) -> str:
    """The key as the person types it into an authenticator app (setup page only)."""
    return unseal(sealed)


def provisioning_uri(email: str, sealed: str) -> str:
    return pyotp.TOTP(unseal(sealed)).provisioning_uri(name=email, issuer_name=ISSUER)


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


def code_is_valid(sealed: str, code: str) -> bool:
    """For enabling: does `code` match the new (sealed) secret now?"""
    return _matching_step(unseal(sealed), code) is not None


def new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


@transaction.atomic
def enable(user, sealed: str) -> list[str]:
    """Turn two-factor on with a confirmed (sealed) secret; returns the recovery codes (shown once)."""
    codes = new_recovery_codes()
    unseal(sealed)  # only a value this deployment can open is stored
    TwoFactor.objects.update_or_create(user=user, defaults={
        "secret": sealed, "confirmed_at": timezone.now(), "last_step": 0,
        "recovery_hashes": [make_password(c) for c in codes]})
    return codes


def disable(user) -> None:
    TwoFactor.objects.filter(user=user).delete()


def totp_enabled(user) -> bool:
    return TwoFactor.objects.filter(user=user).exists()


def is_enabled(user) -> bool:
    """A second factor of either kind: an authenticator app (TOTP) or a passkey (accounts.passkeys)."""
    from accounts.models import Passkey

    return totp_enabled(user) or Passkey.objects.filter(user=user).exists()


@transaction.atomic
def verify(user, code: str, now=None) -> bool:
    """A fresh TOTP code or an unused recovery code (which is then spent)."""
    tf = TwoFactor.objects.select_for_update().filter(user=user).first()
    if tf is None:
        return False
    try:
        secret = unseal(tf.secret)
    except SealedSecretError:
        log.error("two-factor key of user %s cannot be opened with the configured SECRET_KEY(s)", user.pk)
        secret = None
    step = _matching_step(secret, code, now) if secret else None
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
