"""API keys: an owner creates one (its secret is shown once), and revokes it. The API
authenticates with them (ledger_site.api_support.ApiKeyAuth)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, ApiScope

MAX_LIVE_KEYS = 50


@transaction.atomic
def create_api_key(org, name: str, scope: str, actor=None) -> tuple[ApiKey, str]:
    """(the key, its token). Only the token's hash is stored; show the token now or never."""
    from ledger_site.api_support import hash_secret, new_key_token

    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the key a name, e.g. the system that will use it."))
    if scope not in ApiScope.values:
        raise ValidationError(_("Choose read or read-write."))
    live = ApiKey.objects.select_for_update().filter(organization=org, revoked_at__isnull=True)
    if live.filter(name=name).exists():
        raise ValidationError(_("A key named “%(name)s” exists already.") % {"name": name})
    if live.count() >= MAX_LIVE_KEYS:
        raise ValidationError(_("At most %(n)s keys at a time; revoke one you no longer use.") % {"n": MAX_LIVE_KEYS})
    key = ApiKey.objects.create(organization=org, name=name[:100], scope=scope, hint="", secret_hash="",
                                created_by=actor if getattr(actor, "pk", None) else None)
    token, secret = new_key_token(org.pk, key.pk)
    key.secret_hash, key.hint = hash_secret(secret), token[: len(token) - len(secret) + 4]
    key.save(update_fields=["secret_hash", "hint"])
    return key, token


@transaction.atomic
def revoke_api_key(key: ApiKey, actor=None) -> ApiKey:
    """From the next request on, the key gets 401. Revoking twice keeps the first time."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = timezone.now(), actor if getattr(actor, "pk", None) else None
        key.save(update_fields=["revoked_at", "revoked_by"])
    return key
