#!/usr/bin/env python
"""Make sure a PostgreSQL server and the Ledgerline database exist.

With DATABASE_URL set, that server is used; without it, an embedded PostgreSQL (the
`pgserver` package) is started from `.pgdata/` in the project (git ignores it) and keeps
running in the background for later commands. The database named in the URL is created if
missing. Roles and grants are made by the migrations.

    python scripts/devdb.py           # ensure server + database
    python scripts/devdb.py --stop    # stop the embedded server
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def ensure_embedded():
    import pgserver

    data_dir = ROOT / ".pgdata"
    server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    return server


def ensure_database(owner_url: str, test_name: str | None = None) -> None:
    import psycopg
    from psycopg import sql

    parsed = urlparse(owner_url)
    name = parsed.path.lstrip("/")
    maintenance = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as conn:
        for db in filter(None, [name]):
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
                print(f"created database {db}")


def main():
    import environ

    from ledger_site.database import owner_url

    env = environ.Env()
    environ.Env.read_env(ROOT / ".env", overwrite=False)
    if "--stop" in sys.argv:
        if not os.environ.get("DATABASE_URL"):
            ensure_embedded().cleanup()
        return
    if not env.str("DATABASE_URL", default=""):
        ensure_embedded()
        where = f"embedded PostgreSQL in {ROOT / '.pgdata'}"
    else:
        where = "PostgreSQL at DATABASE_URL"
    ensure_database(owner_url(env))
    print(f"database ready: {where}")


if __name__ == "__main__":
    main()
