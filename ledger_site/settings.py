"""Ledgerline settings, all from the environment (12-factor, django-environ).

Development defaults are safe to run locally; production sets DEBUG=False, a real
SECRET_KEY and ALLOWED_HOSTS, and `manage.py check --deploy` then reports nothing.
"""

import os
import secrets
import sys
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from ledger_site.database import app_user, database_settings, worker_user

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Test runs (pytest, manage.py test) are development too: they never serve anyone.
RUNNING_TESTS = "pytest" in sys.modules or sys.argv[1:2] == ["test"]


def _local_secret_key() -> str:
    """Development only: a random key made once per checkout (.dev_secret_key, git-ignored), so
    the web server, the worker and test subprocesses agree. Never a key anyone has published."""
    path = BASE_DIR / ".dev_secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or RUNNING_TESTS):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production needs 50+ random characters, e.g. "
            "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))'); "
            "for local development set DEBUG=True (a random key is then kept in .dev_secret_key).")
    SECRET_KEY = _local_secret_key()
    os.environ.setdefault("SECRET_KEY", SECRET_KEY)  # for manage.py subprocesses of a test run
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # OpClass in index expressions: the search trigram indexes (issue 21)
    "django_q",
    "ninja",  # the API docs page's own static files (no CDN)
    "csp",
    "accounts",
    "invoicing",
    "payments",
    "reminders",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ledger_site.nul_guard.NulCharacterMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The interface in the signed-in user's chosen language (User.language), else LANGUAGE_CODE;
    # never the browser's Accept-Language (pages and tests stay predictable).
    "ledger_site.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "ledger_site.headers.SecurityHeadersMiddleware",
    "ledger_site.tenancy.TenantMiddleware",
]

ROOT_URLCONF = "ledger_site.urls"
WSGI_APPLICATION = "ledger_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ledger_site.tenancy.tenant_context_processor",
                "ledger_site.navigation.settings_tabs",
            ],
            # |day and |moment: one date display per locale (issue 21)
            "builtins": ["accounts.templatetags.daily_tags"],
        },
    },
]

DATABASES = {"default": database_settings(env)}
APP_DB_USER = app_user(env)
# Behind PgBouncer in transaction mode (docker-compose.yml): every request is one transaction with
# the tenant context local to it (ledger_site.tenancy.pooled), and nothing is prepared server-side
# (PgBouncer before 1.21 cannot keep prepared statements in transaction mode).
LEDGER_DB_POOLED = env.bool("LEDGER_DB_POOLED", default=False)
LEDGER_PREPARED_STATEMENTS = env.bool("LEDGER_PREPARED_STATEMENTS", default=not LEDGER_DB_POOLED)
APP_DB_PASSWORD = env.str("APP_DB_PASSWORD", default="ledgerline-app")
# The worker's role (manage.py qcluster): the application role's rights plus django-q2's tables.
APP_WORKER_DB_USER = worker_user(env)
APP_WORKER_DB_PASSWORD = env.str("APP_WORKER_DB_PASSWORD", default="ledgerline-worker")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The invoice editor posts up to 500 lines of 7 fields each (invoicing.services.MAX_LINES).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.auth.EmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Sign-in throttling (accounts/auth.py): progressive delays per (account, client) and per client,
# never a lock on an account. Failures older than the window are forgotten.
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=3600)
LOGIN_FREE_FAILURES = env.int("LOGIN_FREE_FAILURES", default=3)  # per (account, client) before delays
LOGIN_CLIENT_FREE_FAILURES = env.int("LOGIN_CLIENT_FREE_FAILURES", default=20)  # per client, all accounts
LOGIN_DELAY_BASE_SECONDS = env.int("LOGIN_DELAY_BASE_SECONDS", default=2)
LOGIN_DELAY_MAX_SECONDS = env.int("LOGIN_DELAY_MAX_SECONDS", default=300)
KNOWN_DEVICE_MAX_AGE_SECONDS = env.int("KNOWN_DEVICE_MAX_AGE_SECONDS", default=180 * 24 * 3600)
# Abuse limits per window (accounts.ratelimit): password-reset e-mails per address and per client,
# sign-ups per client. Over a limit nothing is sent and the page says the same as always.
ABUSE_WINDOW_SECONDS = env.int("ABUSE_WINDOW_SECONDS", default=3600)
PASSWORD_RESET_PER_ADDRESS = env.int("PASSWORD_RESET_PER_ADDRESS", default=3)
PASSWORD_RESET_PER_CLIENT = env.int("PASSWORD_RESET_PER_CLIENT", default=10)
SIGNUP_PER_CLIENT = env.int("SIGNUP_PER_CLIENT", default=10)
# Two-factor sign-in: wrong codes allowed per user in five minutes before the second step refuses.
TWO_FACTOR_TRIES = env.int("TWO_FACTOR_TRIES", default=5)
# Passkeys (accounts/passkeys.py): the relying-party id and the origins a passkey answer may come
# from. Empty: the request's own host (already checked against ALLOWED_HOSTS) and scheme.
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="")
WEBAUTHN_ORIGINS = env.list("WEBAUTHN_ORIGINS", default=[])
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed; empty: none.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
INVITATION_MAX_AGE_SECONDS = 7 * 24 * 3600
# Public invoice links (invoicing.public): they stop working this many days after the invoice is
# settled or voided; PUBLIC_LINK_MAX_AGE_DAYS (0 = no limit) caps any link's age. A view is counted
# at most once per link and client in PUBLIC_LINK_VIEW_INTERVAL_SECONDS.
PUBLIC_LINK_DAYS_AFTER_SETTLED = env.int("PUBLIC_LINK_DAYS_AFTER_SETTLED", default=90)
PUBLIC_LINK_MAX_AGE_DAYS = env.int("PUBLIC_LINK_MAX_AGE_DAYS", default=0)
PUBLIC_LINK_VIEW_INTERVAL_SECONDS = env.int("PUBLIC_LINK_VIEW_INTERVAL_SECONDS", default=600)
# The customer portal on the link (issue 19): actions per link and client address per hour; one
# address cannot lock out another customer (the key is the link and the address together).
PORTAL_ACTIONS_PER_HOUR = env.int("PORTAL_ACTIONS_PER_HOUR", default=20)
# Payments: how many days after today a payment's "date received" may lie (a post-dated cheque,
# a time-zone edge); a later date is refused as a typo. 0 = nothing after today.
PAYMENT_FUTURE_DAYS = env.int("PAYMENT_FUTURE_DAYS", default=3)
# Customer fields (invoice editor, payment form): an organization with at most this many active
# customers gets a plain <select>; above it, a type-ahead field (accounts/customer_picker.py),
# because a select of thousands of customers is megabytes of page and unusable.
CUSTOMER_SELECT_MAX = env.int("CUSTOMER_SELECT_MAX", default=200)
# JSON API (ledger_site.api): requests per key in a fixed window; more get 429 with Retry-After.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=600)
API_RATE_WINDOW_SECONDS = env.int("API_RATE_WINDOW_SECONDS", default=60)

LANGUAGE_CODE = "en"
# The languages with complete translations (issue 17 item 6): documents, e-mails and the public
# pages in the customer's language (accounts.locale.document_language), the interface in the
# user's (ledger_site.language.UserLanguageMiddleware). Catalogs: ledger_site/locale/<lang>/.
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español"), ("hi", "हिन्दी")]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "ledger_site" / "locale"]  # no top-level locale/: the top level is fixed

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Outside production nothing is collected; WhiteNoise then serves straight from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start when the folder is missing
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("COLLECTSTATIC", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# Below the reminder outbox's lease (reminders/outbox.py LEASE, 20 s): a hung SMTP conversation
# ends before another worker may take the message over.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Ledgerline <no-reply@ledgerline.local>")
# Where customers reach this site: links in e-mails sent by background tasks (no request to ask).
# scripts/serve.py sets it to the address it serves when it is not set.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env.str('PORT', default='8000')}").rstrip("/")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Webhooks (reminders/webhooks.py). Development mode only: let endpoints point at loopback, private
# and link-local addresses (a receiver on this machine). Off in production: such URLs are refused
# at registration and again at every delivery, after resolving the name.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
WEBHOOKS_TIMEOUT = env.int("WEBHOOKS_TIMEOUT", default=10)  # seconds per attempt; below the 30 s lease
WEBHOOKS_SECRET_OVERLAP_HOURS = env.int("WEBHOOKS_SECRET_OVERLAP_HOURS", default=24)  # old secret signs too
WEBHOOKS_DISABLE_AFTER = env.int("WEBHOOKS_DISABLE_AFTER", default=10)  # consecutive failed attempts
# Exchange rates (issue 17, accounts.fx): the scheduled fetch's URL (empty: no fetch; e.g. the ECB's
# eurofxref-daily.xml), how far a new rate may move from the previous one before a person must confirm
# it, and how old the latest rate may be when a day has none (weekends, holidays).
FX_RATES_URL = env.str("FX_RATES_URL", default="")
FX_RATE_JUMP_FACTOR = env.str("FX_RATE_JUMP_FACTOR", default="1.5")  # Decimal text, read by accounts.fx
FX_RATE_MAX_AGE_DAYS = env.int("FX_RATE_MAX_AGE_DAYS", default=7)

# Security: cookies only over HTTPS outside development, HSTS, no sniffing, no framing.
SECURE_SSL = env.bool("SECURE_SSL", default=not DEBUG and env.bool("PRODUCTION", default=False))
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_SSL_REDIRECT = SECURE_SSL
SECURE_HSTS_SECONDS = 31536000 if SECURE_SSL else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_HSTS_PRELOAD = SECURE_SSL
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_SSL else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
# Sessions through the database functions that need the key (accounts/identity.py, issue 22 #9).
SESSION_ENGINE = "accounts.identity"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts, styles, images and fetches from this site only; no
# inline script, no inline style, no eval, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                      "microphone=(), payment=(), usb=(), interest-cohort=()")

Q_CLUSTER = {
    "name": "ledgerline",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 5,
    "catch_up": False,
    "poll": 1,
    # Queues through ledger_task_enqueue(): the application role has no privilege on the queue's
    # tables (accounts migration 0029); the worker runs as APP_WORKER_DB_USER.
    "broker_class": "ledger_site.queue.NarrowORM",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
