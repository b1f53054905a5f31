"""What every benchmark does the same way: find the server, make a fresh database for itself,
and start Django on it as the application role (row-level security on, as in the product)."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def owner_url() -> tuple[str, str]:
    """The owner's URL of the server to measure, and a description of it: DATABASE_URL's server,
    else the embedded PostgreSQL in .pgdata/ (started if needed)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import environ

    from ledger_site.database import owner_url as configured

    env = environ.Env()
    environ.Env.read_env(ROOT / ".env", overwrite=False)
    if env.str("DATABASE_URL", default=""):
        return configured(env), "PostgreSQL at DATABASE_URL"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "devdb.py")], check=True, cwd=ROOT)
    return configured(env), f"embedded PostgreSQL (pgserver) in {ROOT / '.pgdata'}"


def with_db(url: str, name: str) -> str:
    return urlparse(url)._replace(path=f"/{name}").geturl()


def fresh_database(url: str, name: str) -> str:
    """Drop and create database `name` on the server, migrate it as the owner; its owner URL."""
    drop_database(url, name, create=True)
    return migrate_database(url, name)


def migrate_database(url: str, name: str) -> str:
    """Bring database `name` (kept from an earlier run) up to the current migrations as the owner."""
    bench_url = with_db(url, name)
    env = dict(os.environ, DATABASE_URL=bench_url, LEDGER_DB_AS_OWNER="1")
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
                   check=True, cwd=ROOT, env=env)
    return bench_url


def bench_database(url: str, name: str, reuse: bool) -> str:
    """The benchmark's database: the kept one migrated (--reuse), or a fresh one; its owner URL."""
    if reuse:
        return migrate_database(url, name)
    log(f"creating {name} and migrating")
    return fresh_database(url, name)


def drop_database(url: str, name: str, create: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def owner_sql(bench_url: str, *statements: str):
    """Run statements as the database's owner, outside any transaction (ANALYZE, CHECKPOINT);
    the last one's rows, if it returns any."""
    import psycopg

    with psycopg.connect(bench_url, autocommit=True) as conn:
        for statement in statements:
            cursor = conn.execute(statement)
        return cursor.fetchall() if statements and cursor.description else None


def server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def django_setup(bench_url: str | None) -> None:
    """Django on `bench_url` (None: what the environment says) as the application role."""
    if bench_url:
        os.environ["DATABASE_URL"] = bench_url
    os.environ.pop("LEDGER_DB_AS_OWNER", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger_site.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)
