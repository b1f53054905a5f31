"""System checks for production settings that Django's own do not make (issue 22)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

# Keys that were ever published with this project (settings defaults, examples, the Dockerfile's
# collectstatic step) or by Django's project template: a forger knows them.
KNOWN_KEYS = {
    "dev-only-insecure-key-change-me-for-production-0123456789",
    "change-me-to-a-long-random-string",
    "collectstatic-only-not-used-at-runtime",
}


def weak_secret_key(key: str) -> str | None:
    """Why `key` is unfit to sign anything, or None."""
    if key in KNOWN_KEYS:
        return "it is a published example key"
    if key.startswith("django-insecure"):
        return "it is a key made by startproject for development"
    if len(key) < 50:
        return "it is shorter than 50 characters"
    if len(set(key)) < 5:
        return "it has fewer than 5 distinct characters"
    return None


@register(Tags.security)
def check_secret_key(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    reason = weak_secret_key(settings.SECRET_KEY)
    if reason is None:
        return []
    return [Error(f"SECRET_KEY is weak: {reason}.",
                  hint="Set SECRET_KEY to 50+ random characters: python3 -c 'import secrets; "
                       "print(secrets.token_urlsafe(50))'.", id="ledgerline.E001")]
