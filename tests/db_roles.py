"""Switch the test connection between the owner (set-up) and the application role."""

from django.conf import settings
from django.db import connections

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


def owner_conninfo() -> str:
    s = connections["default"].settings_dict
    parts = {"dbname": s["NAME"], "user": s["OWNER_USER"], "password": s["OWNER_PASSWORD"],
             "host": s.get("HOST") or "", "port": str(s.get("PORT") or "")}
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)
