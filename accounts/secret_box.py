"""Secrets the product must read back (a person's TOTP key), encrypted at rest.

A password is hashed because it only has to be compared; a TOTP key has to be used, so it is
encrypted instead: Fernet (AES-128-CBC with HMAC-SHA256, from the `cryptography` package) under a key
derived with HKDF from SECRET_KEY, purpose-bound so it is no other key the project derives. A stored
value reads "v1:<token>". Rotating SECRET_KEY keeps every stored key readable as long as the old
value is in SECRET_KEY_FALLBACKS (MultiFernet tries each); `reseal` re-encrypts under the new one.
Someone who can read the table (a backup, a leaked dump, the tenant role) without the settings'
secret learns nothing usable.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "v1:"
_PURPOSE = b"ledgerline: stored two-factor secrets, v1"


class SealedSecretError(ValueError):
    """A stored secret that none of the configured keys opens (SECRET_KEY changed without keeping
    the old one in SECRET_KEY_FALLBACKS, or the value was altered)."""


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _box() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(k) for k in keys if k])


def seal(plain: str) -> str:
    return PREFIX + _box().encrypt(plain.encode()).decode()


def is_sealed(value: str) -> bool:
    return (value or "").startswith(PREFIX)


def unseal(value: str) -> str:
    if not is_sealed(value):
        raise SealedSecretError("not a sealed value")
    try:
        return _box().decrypt(value[len(PREFIX):].encode()).decode()
    except InvalidToken as e:
        raise SealedSecretError("no configured key opens this value") from e


def reseal(value: str) -> str:
    """The same secret under the current SECRET_KEY (after a rotation)."""
    return PREFIX + _box().rotate(value[len(PREFIX):].encode()).decode()
