"""The deployment files (issue 23): docker-compose.yml as Debian's docker-compose reads it (web
through PgBouncer in transaction mode with the pooled tenant context, migrations and the worker
direct), and gunicorn.conf.py."""

import os
import runpy
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose missing: scripts/system_deps.sh installs it"
    env = dict(os.environ, SECRET_KEY="x" * 50)
    out = subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return yaml.safe_load(out)["services"]


def test_compose_puts_pgbouncer_in_transaction_mode_in_front_of_the_web_tier_only():
    services = _compose()
    bouncer = services["pgbouncer"]["environment"]
    assert bouncer["POOL_MODE"] == "transaction" and bouncer["DB_HOST"] == "db"
    web = services["web"]["environment"]
    assert urlparse(web["DATABASE_URL"]).hostname == "pgbouncer"
    assert web["LEDGER_DB_POOLED"] == "True"  # the tenant context per transaction (ledger_site.tenancy)
    assert urlparse(web["DIRECT_DATABASE_URL"]).hostname == "db"
    assert "DATABASE_URL=$${DIRECT_DATABASE_URL} python manage.py migrate" in services["web"]["command"] \
        or "DATABASE_URL=${DIRECT_DATABASE_URL} python manage.py migrate" in services["web"]["command"]
    assert "-c gunicorn.conf.py" in services["web"]["command"]
    worker = services["worker"]["environment"]
    assert urlparse(worker["DATABASE_URL"]).hostname == "db" and "LEDGER_DB_POOLED" not in worker


def test_gunicorn_config():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread" and config["workers"] >= 1 and config["threads"] >= 1
