"""Where the database is and which role we log in as.

`DATABASE_URL` names the database and its *owner* (who runs migrations). The application
itself logs in as `APP_DB_USER`, a role that is neither superuser nor BYPASSRLS, so that
PostgreSQL row-level security applies to every query it makes. Without `DATABASE_URL` we use
the embedded server that `scripts/devdb.py` keeps in `.pgdata/`.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
EMBEDDED_DIR = BASE_DIR / ".pgdata"
DEFAULT_DB_NAME = "ledgerline"


def owner_url(env: environ.Env) -> str:
    url = env.str("DATABASE_URL", default="")
    if url:
        return url
    return f"postgres://postgres@/{DEFAULT_DB_NAME}?host={EMBEDDED_DIR}"


def database_settings(env: environ.Env) -> dict:
    owner = environ.Env.db_url_config(owner_url(env))
    owner["ENGINE"] = "django.db.backends.postgresql"
    # `?host=/socket/dir` (the embedded server) arrives in OPTIONS; HOST is where Django, the
    # tests' owner connection and child processes all look for it.
    options = owner.setdefault("OPTIONS", {})
    for key in ("host", "port"):
        if options.get(key) and not owner.get(key.upper()):
            owner[key.upper()] = options.pop(key)
    # Persistent connections (issue 23): opening one cost ~20 ms of a ~100 ms light page. Safe for
    # tenancy: TenantMiddleware sets the context at the start of every request and clears it at the
    # end (ledger_site.tenancy; tests/security/test_persistent_connections.py).
    owner["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    owner["CONN_HEALTH_CHECKS"] = True
    if env.bool("LEDGER_DB_POOLED", default=False):
        # Behind PgBouncer in transaction mode: a cursor WITH HOLD outlives the transaction and
        # with it the server session (Django's docs, "Transaction pooling and server-side cursors").
        owner["DISABLE_SERVER_SIDE_CURSORS"] = True
    owner["ATOMIC_REQUESTS"] = True
    owner["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=f"test_{owner['NAME']}")}
    owner["OWNER_USER"] = owner.get("USER") or "postgres"
    owner["OWNER_PASSWORD"] = owner.get("PASSWORD") or ""
    if env.bool("LEDGER_DB_AS_WORKER", default=False):
        # The django-q2 worker (manage.py qcluster): its own role, the application role's rights
        # plus the task-queue tables (accounts migration 0029, docs/security.md A12).
        owner["USER"] = worker_user(env)
        owner["PASSWORD"] = env.str("APP_WORKER_DB_PASSWORD", default="ledgerline-worker")
    elif not env.bool("LEDGER_DB_AS_OWNER", default=False):
        owner["USER"] = app_user(env)
        owner["PASSWORD"] = env.str("APP_DB_PASSWORD", default="ledgerline-app")
    return owner


def app_user(env: environ.Env) -> str:
    return env.str("APP_DB_USER", default="ledgerline_app")


def worker_user(env: environ.Env) -> str:
    return env.str("APP_WORKER_DB_USER", default=f"{app_user(env)}_worker")
