"""Switch the test connection between the owner (set-up) and the application role."""

from django.conf import settings
from django.db import connections
from psycopg.conninfo import make_conninfo

_APP = {}


def use_owner_role():
    conn = connections["default"]
    conn.close()
    _APP.setdefault("USER", conn.settings_dict["USER"])
    _APP.setdefault("PASSWORD", conn.settings_dict["PASSWORD"])
    conn.settings_dict["USER"] = conn.settings_dict["OWNER_USER"]
    conn.settings_dict["PASSWORD"] = conn.settings_dict["OWNER_PASSWORD"]


def use_app_role():
    conn = connections["default"]
    conn.close()
    conn.settings_dict["USER"] = _APP.get("USER", settings.APP_DB_USER)
    conn.settings_dict["PASSWORD"] = _APP.get("PASSWORD", settings.APP_DB_PASSWORD)


def use_worker_role():
    """The django-q2 worker's role (APP_WORKER_DB_USER): the application role's rights plus the
    task-queue tables. For tests that play the worker's side of the queue."""
    conn = connections["default"]
    conn.close()
    _APP.setdefault("USER", conn.settings_dict["USER"])
    _APP.setdefault("PASSWORD", conn.settings_dict["PASSWORD"])
    conn.settings_dict["USER"] = settings.APP_WORKER_DB_USER
    conn.settings_dict["PASSWORD"] = settings.APP_WORKER_DB_PASSWORD


def owner_conninfo() -> str:
    s = connections["default"].settings_dict
    options = s.get("OPTIONS") or {}
    parts = {"dbname": s["NAME"], "user": s["OWNER_USER"], "password": s["OWNER_PASSWORD"],
             "host": s.get("HOST") or options.get("host") or "",
             "port": str(s.get("PORT") or options.get("port") or "")}
    return make_conninfo(**{k: v for k, v in parts.items() if v})
