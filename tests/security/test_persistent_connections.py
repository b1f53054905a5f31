"""Connection reuse never carries one organization's row-level-security context into another
request (issue 23): persistent connections (CONN_MAX_AGE) and PgBouncer in transaction mode.

Django's test client never closes the connection between requests, so every request here runs on
the same, reused connection, exactly as with CONN_MAX_AGE."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from ledger_site.tenancy import current_org_id, set_db_context, tenant_context
from tests.factories import CustomerFactory, make_org

SEEN = []  # (organization id in the database context, server process id) during each request
PROBES = []  # callables the spy starts mid-request (threads that act as another client of the pool)


class Spy:
    """Runs after TenantMiddleware: what the database context is when the view's work starts."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            SEEN.append((current_org_id(), cursor.fetchone()[0]))
        for probe in PROBES:
            probe()
        return self.get_response(request)


def _middleware():
    from django.conf import settings

    return [*settings.MIDDLEWARE, "tests.security.test_persistent_connections.Spy"]


def _two_orgs():
    books = []
    for name in ("Alpha", "Bravo"):
        org, owner = make_org()
        with tenant_context(org):
            CustomerFactory(organization=org, name=f"{name} Customer Only")
        client = Client()
        client.force_login(owner)
        books.append((org, client))
    return books


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_two_organizations_on_one_persistent_connection():
    (alpha, alpha_client), (bravo, bravo_client) = _two_orgs()
    pid = _backend_pid()
    SEEN.clear()
    with override_settings(MIDDLEWARE=_middleware()):
        # As if a previous request had left Alpha's context on the connection: the next request,
        # of someone else and for no organization, starts without it.
        set_db_context(alpha.pk)
        assert bravo_client.get("/").status_code in (200, 302)
        assert current_org_id() is None
        alpha_page = alpha_client.get(reverse("customer_list", kwargs={"org_slug": alpha.slug})).content.decode()
        assert current_org_id() is None
        bravo_page = bravo_client.get(reverse("customer_list", kwargs={"org_slug": bravo.slug})).content.decode()
        assert current_org_id() is None
    assert "Alpha Customer Only" in alpha_page and "Alpha Customer Only" not in bravo_page
    assert "Bravo Customer Only" in bravo_page
    assert [(None, pid), (alpha.pk, pid), (bravo.pk, pid)] == SEEN
    assert _backend_pid() == pid


# --- PgBouncer in transaction mode ----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pgbouncer(transactional_db):
    """A local PgBouncer in transaction mode with ONE server connection, in front of the test
    database: every client shares that server session, so anything session-level would show."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    s = connection.settings_dict
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="ll-pgbouncer-")
    os.chmod(workdir, 0o755)  # noqa: S103 - PgBouncer runs as postgres and reads its configuration here
    ini = os.path.join(workdir, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write(f"""[databases]
{s['NAME']} = host={s.get('HOST') or '127.0.0.1'} port={s.get('PORT') or 5432} dbname={s['NAME']} \
user={s['USER']} password={s['PASSWORD']}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
log_connections = 0
log_disconnections = 0
""")
    os.chmod(ini, 0o644)
    # PgBouncer refuses to run as root. It runs as postgres, or for the embedded database (a
    # socket directory only its owner may enter) as that directory's owner.
    host = s.get("HOST") or "127.0.0.1"
    run_as = pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else "postgres"
    user = ["-u", run_as] if os.geteuid() == 0 else []
    log = open(os.path.join(workdir, "pgbouncer.log"), "w+b")  # noqa: SIM115 - closed in the finally
    process = subprocess.Popen([binary, *user, ini], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 10
    while True:
        try:
            psycopg.connect(host="127.0.0.1", port=port, dbname=s["NAME"], user=s["USER"], connect_timeout=2).close()
            break
        except psycopg.OperationalError:
            assert process.poll() is None, Path(log.name).read_text()
            assert time.monotonic() < deadline, "PgBouncer did not start"
            time.sleep(0.1)
    saved = {key: s.get(key) for key in ("HOST", "PORT", "DISABLE_SERVER_SIDE_CURSORS")}
    connection.close()
    s.update(HOST="127.0.0.1", PORT=str(port), DISABLE_SERVER_SIDE_CURSORS=True)
    try:
        with override_settings(LEDGER_DB_POOLED=True, LEDGER_PREPARED_STATEMENTS=False):
            yield psycopg.connect(host="127.0.0.1", port=port, dbname=s["NAME"], user=s["USER"], autocommit=True)
    finally:
        connection.close()
        s.update(saved)
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _context_seen_by(other) -> tuple[str | None, int]:
    row = other.execute("SELECT NULLIF(current_setting('app.organization_id', true), ''), pg_backend_pid()")
    return row.fetchone()


def test_pgbouncer_transaction_pooling_never_hands_a_context_to_another_client(pgbouncer):
    other = pgbouncer  # another client of the pool (another worker), sharing the one server session
    (alpha, alpha_client), (bravo, bravo_client) = _two_orgs()
    SEEN.clear()
    mid_request = []

    def probe():  # another worker's query while Alpha's request is under way, between its statements
        thread = threading.Thread(target=lambda: mid_request.append(_context_seen_by(other)))
        thread.start()
        mid_request.append(thread)
        thread.join(0.5)  # pooled, the server session is the request's until it ends: this waits

    PROBES[:] = [probe]
    with override_settings(MIDDLEWARE=_middleware()):
        try:
            alpha_page = alpha_client.get(reverse("customer_list", kwargs={"org_slug": alpha.slug})).content.decode()
        finally:
            PROBES.clear()
        mid_request[0].join(10)
        after_alpha = _context_seen_by(other)
        bravo_page = bravo_client.get(reverse("customer_list", kwargs={"org_slug": bravo.slug})).content.decode()
        after_bravo = _context_seen_by(other)
    assert "Alpha Customer Only" in alpha_page and "Alpha Customer Only" not in bravo_page
    assert [org for org, _pid in SEEN] == [alpha.pk, bravo.pk]
    # The other client ran on the very server session the requests used, and found no context,
    # also when it asked in the middle of Alpha's request.
    assert mid_request[1] == (None, SEEN[0][1])
    assert after_alpha == (None, SEEN[0][1]) and after_bravo == (None, SEEN[1][1])
    # The hazard this guards against: a session-level setting (what a direct connection uses)
    # does reach the next client of the pool.
    with override_settings(LEDGER_DB_POOLED=False):
        set_db_context(alpha.pk)
    try:
        assert _context_seen_by(other)[0] == str(alpha.pk)
    finally:
        other.execute("RESET ALL")
        other.close()
