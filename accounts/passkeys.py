"""WebAuthn passkeys as a second factor beside TOTP (issue 22), with py_webauthn (`webauthn`).

Registration and sign-in are each two requests: the server makes a random challenge (kept in the
person's session, single use, `CHALLENGE_SECONDS`), the browser's authenticator signs it
(static/js/passkeys.js), and the library checks the answer against the challenge, this site's
origin and relying-party id (the host the request came to, which Django has already checked
against ALLOWED_HOSTS; `WEBAUTHN_RP_ID` / `WEBAUTHN_ORIGINS` fix them behind a proxy). A credential
is only accepted for the person it belongs to, and a signature counter that does not grow (a cloned
authenticator) refuses the sign-in.
"""

import json
import logging
import secrets
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.models import Passkey

log = logging.getLogger("accounts.passkeys")

RP_NAME = "Ledgerline"
CHALLENGE_SECONDS = 300
MAX_PASSKEYS = 10
REGISTER_KEY, SIGN_IN_KEY = "passkey_register", "passkey_sign_in"  # session: [challenge, time]


class PasskeyError(Exception):
    """What the person is told; nothing is stored or signed in."""


def rp_id(request) -> str:
    return settings.WEBAUTHN_RP_ID or request.get_host().rsplit(":", 1)[0]


def origins(request) -> list[str]:
    return list(settings.WEBAUTHN_ORIGINS) or [f"{request.scheme}://{request.get_host()}"]


def _keep_challenge(request, key: str, challenge: bytes) -> None:
    request.session[key] = [bytes_to_base64url(challenge), time.time()]


def _take_challenge(request, key: str) -> bytes:
    """The challenge made for this step, once: a second answer to it is refused."""
    kept = request.session.pop(key, None)
    if not kept or time.time() - kept[1] > CHALLENGE_SECONDS:
        raise PasskeyError(_("That took too long. Please try again."))
    return base64url_to_bytes(kept[0])


def _descriptors(user) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=bytes(p.credential_id)) for p in user.passkeys.all()]


def registration_options(request, user) -> str:
    """The options (JSON) for navigator.credentials.create(); the challenge waits in the session."""
    challenge = secrets.token_bytes(32)
    options = generate_registration_options(
        rp_id=rp_id(request), rp_name=RP_NAME, user_id=f"ledgerline-user-{user.pk}".encode(),
        user_name=user.email, user_display_name=user.full_name or user.email, challenge=challenge,
        exclude_credentials=_descriptors(user),  # the same authenticator is not added twice
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED),
    )
    _keep_challenge(request, REGISTER_KEY, challenge)
    return options_to_json(options)


def register(request, user, credential: str, name: str) -> Passkey:
    challenge = _take_challenge(request, REGISTER_KEY)
    name = " ".join((name or "").split())[:60] or _("Passkey")
    if user.passkeys.count() >= MAX_PASSKEYS:
        raise PasskeyError(_("You have %(n)s passkeys already; remove one first.") % {"n": MAX_PASSKEYS})
    try:
        verified = verify_registration_response(credential=credential, expected_challenge=challenge,
                                                expected_rp_id=rp_id(request), expected_origin=origins(request))
    except (WebAuthnException, ValueError, KeyError, TypeError) as e:
        log.info("passkey registration refused for user %s: %s", user.pk, e)
        raise PasskeyError(_("The passkey could not be checked. Please try again.")) from None
    if Passkey.objects.filter(credential_id=verified.credential_id).exists():
        raise PasskeyError(_("This passkey is already registered."))
    return Passkey.objects.create(user=user, name=name, credential_id=verified.credential_id,
                                  public_key=verified.credential_public_key, sign_count=verified.sign_count)


def authentication_options(request, user) -> str:
    """The options (JSON) for navigator.credentials.get(): only this person's passkeys."""
    challenge = secrets.token_bytes(32)
    options = generate_authentication_options(rp_id=rp_id(request), challenge=challenge,
                                              allow_credentials=_descriptors(user),
                                              user_verification=UserVerificationRequirement.PREFERRED)
    _keep_challenge(request, SIGN_IN_KEY, challenge)
    return options_to_json(options)


@transaction.atomic
def authenticate(request, user, credential: str) -> Passkey:
    """Check the signed challenge with the person's passkey; raises PasskeyError when it fails."""
    challenge = _take_challenge(request, SIGN_IN_KEY)
    refused = PasskeyError(_("That passkey did not sign you in. Please try again."))
    try:
        raw_id = base64url_to_bytes(json.loads(credential)["rawId"])
    except (ValueError, KeyError, TypeError):
        raise refused from None
    passkey = Passkey.objects.select_for_update().filter(user=user, credential_id=raw_id).first()
    if passkey is None:
        raise refused  # another person's passkey, or none
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(request),
            expected_origin=origins(request), credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count)
    except (WebAuthnException, ValueError, KeyError, TypeError) as e:
        log.info("passkey sign-in refused for user %s: %s", user.pk, e)
        raise refused from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = timezone.now()
    passkey.save(update_fields=["sign_count", "last_used_at"])
    return passkey


def has_passkeys(user) -> bool:
    return Passkey.objects.filter(user=user).exists()


def remove(user, passkey_id: int) -> bool:
    return Passkey.objects.filter(user=user, pk=passkey_id).delete()[0] > 0
