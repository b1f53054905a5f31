"""Issue 22 #9, the rest: organizations and django-q2's task queue are out of the application role's
reach without a tenant context (accounts migration 0029, accounts/org_directory.py,
ledger_site/queue.py). Tried as an attacker holding the application's own database login, as an SQL
injection in any page would; then the product, the worker and the demo are shown to still work."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from psycopg.conninfo import make_conninfo

from accounts.models import Organization, Role, User
from accounts.org_directory import organization_for_slug, organization_ids, slug_taken
from ledger_site.queue import enqueue, queue_health
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, UserFactory, add_member, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
QUEUE_TABLES = ("django_q_ormq", "django_q_schedule", "django_q_task")


def role_connection(user, password):
    s = connection.settings_dict
    info = {"dbname": s["NAME"], "user": user, "password": password, "host": s.get("HOST") or "",
            "port": str(s.get("PORT") or "")}
    return psycopg.connect(make_conninfo(**{k: v for k, v in info.items() if v}), autocommit=True)


def app_role_connection():
    s = connection.settings_dict  # the tests' connection is the application role (tests/conftest.py)
    return role_connection(s["USER"], s["PASSWORD"])


def worker_role_connection():
    return role_connection(settings.APP_WORKER_DB_USER, settings.APP_WORKER_DB_PASSWORD)


def test_the_application_role_lists_no_organization_and_cannot_touch_the_task_queue(owner_sql):
    (org_a, owner_a), (org_b, _) = make_org(name="Alpha Ltd"), make_org(name="Beta Ltd")
    assert enqueue("accounts.tasks.verify_recent", task_name="probe", group="probe")
    with app_role_connection() as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == settings.APP_DB_USER
        # No context: not one organization, not even by slug or id.
        assert conn.execute("SELECT count(*) FROM accounts_organization").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM accounts_organization WHERE id = %s", [org_b.pk]).fetchone()[0] == 0
        # The queue's tables: no privilege at all, reading or writing.
        for table in QUEUE_TABLES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        # A tenant context shows that organization only; a user context, that user's organizations.
        conn.execute("SELECT set_config('app.organization_id', %s, false)", [str(org_a.pk)])
        assert [r[0] for r in conn.execute("SELECT name FROM accounts_organization")] == ["Alpha Ltd"]
        # Another organization's row cannot be changed from here either.
        assert conn.execute("UPDATE accounts_organization SET name = 'x' WHERE id = %s RETURNING id",
                            [org_b.pk]).fetchall() == []
        conn.execute("SELECT set_config('app.organization_id', '', false),"
                      " set_config('app.user_id', %s, false)", [str(owner_a.pk)])
        assert [r[0] for r in conn.execute("SELECT name FROM accounts_organization")] == ["Alpha Ltd"]
        # What the narrow functions answer: ids, a yes/no per address, counts. Nothing else.
        conn.execute("SELECT set_config('app.user_id', '', false)")
        assert {r[0] for r in conn.execute("SELECT ledger_organization_ids()")} == {org_a.pk, org_b.pk}
        assert conn.execute("SELECT ledger_organization_slug_taken(%s, NULL)", [org_b.slug]).fetchone()[0] is True
        depth, waiting, _ = conn.execute("SELECT * FROM ledger_queue_health('x')").fetchone()
        assert depth == waiting == 1
    assert owner_sql.execute("SELECT name FROM accounts_organization WHERE id = %s", [org_b.pk]).fetchone() == (
        "Beta Ltd",)


def test_the_worker_role_has_the_queue_and_still_obeys_row_level_security():
    org, _ = make_org(name="Gamma Ltd")
    assert enqueue("accounts.tasks.verify_recent", task_name="probe", group="probe")
    with worker_role_connection() as conn:
        assert conn.execute("SELECT count(*) FROM django_q_ormq").fetchone()[0] == 1
        # Not a super-role: without a context it sees no organization and no tenant row either.
        assert conn.execute("SELECT count(*) FROM accounts_organization").fetchone()[0] == 0
        assert conn.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
                            ).fetchone()[0] is False
        conn.execute("SELECT set_config('app.organization_id', %s, false)", [str(org.pk)])
        assert conn.execute("SELECT name FROM accounts_organization").fetchone()[0] == "Gamma Ltd"


def test_sign_up_settings_and_the_org_switcher_work_through_the_narrow_path():
    client = Client()
    response = client.post(reverse("signup"), {
        "full_name": "Nora Narrow", "email": "nora@narrow.example", "password": "a-long-secret-2026",
        "name": "Narrow Ltd", "slug": "narrow", "base_currency": "EUR", "country": "IE"})
    assert response.status_code == 302, response.content.decode()[:2000]
    org = organization_for_slug("narrow")
    assert org is not None and org.name == "Narrow Ltd" and slug_taken("narrow") and not slug_taken("narrow", org.pk)
    assert client.get(reverse("dashboard", kwargs={"org_slug": "narrow"})).status_code == 200
    # The address of another organization is refused with a message, not a database error.
    other, other_owner = make_org(slug="elsewhere")
    page = client.post(reverse("org_settings", kwargs={"org_slug": "narrow"}), {
        "name": "Narrow Ltd", "slug": "elsewhere", "base_currency": "EUR", "country": "IE", "address": "",
        "tax_id": "", "locale": "en_GB", "timezone": "UTC"})
    assert page.status_code == 200 and "already taken" in page.content.decode()
    # A member of two organizations enters both and is offered both; a stranger neither.
    nora = User.objects.get(email="nora@narrow.example")
    with tenant_context(org):
        assert Organization.objects.count() == 1
    add_member(other, Role.VIEWER, user=nora)
    page = client.get(reverse("dashboard", kwargs={"org_slug": "elsewhere"}))
    assert page.status_code == 200 and "Narrow Ltd" in page.content.decode()
    assert Client().get(reverse("dashboard", kwargs={"org_slug": "elsewhere"})).status_code == 302
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(reverse("dashboard", kwargs={"org_slug": "elsewhere"})).status_code == 404
    assert other_owner.pk != nora.pk


def test_issuing_queues_its_render_task_through_the_function():
    org, owner = make_org()
    before = queue_health("x")[0]
    with tenant_context(org, owner):
        invoice = issued(org, CustomerFactory(organization=org), actor=owner)
    assert invoice.status == "issued" and queue_health("x")[0] == before + 1


def _subprocess_env():
    s = connection.settings_dict
    user, password = s["OWNER_USER"], s["OWNER_PASSWORD"]
    auth = f"{user}:{password}@" if password else f"{user}@"
    host, port = s.get("HOST") or "", s.get("PORT") or ""
    if host.startswith("/"):
        url = f"postgres://{auth}/{s['NAME']}?host={host}" + (f"&port={port}" if port else "")
    else:
        url = f"postgres://{auth}{host}{':' + str(port) if port else ''}/{s['NAME']}"
    env = dict(os.environ, DATABASE_URL=url, APP_DB_USER=s["USER"], APP_DB_PASSWORD=s["PASSWORD"] or "",
               APP_WORKER_DB_USER=settings.APP_WORKER_DB_USER,
               APP_WORKER_DB_PASSWORD=settings.APP_WORKER_DB_PASSWORD, Q_WORKERS="1")
    for key in ("LEDGER_DB_AS_OWNER", "LEDGER_DB_AS_WORKER"):
        env.pop(key, None)
    return env


def test_the_real_worker_runs_a_task_the_application_queued(owner_sql):
    """manage.py qcluster connects as the worker's role and runs what the application role queued
    through ledger_task_enqueue(): the organization loop inside the task finds every organization
    through ledger_organization_ids()."""
    make_org(), make_org()
    assert enqueue("reminders.tasks.recover_outbox", task_name="narrow-probe", group="narrow-probe")
    worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=_subprocess_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        row = None
        while time.monotonic() < deadline and row is None:
            time.sleep(0.5)
            row = owner_sql.execute("SELECT success, result FROM django_q_task WHERE name = 'narrow-probe'"
                                    ).fetchone()
            assert worker.poll() is None, worker.stderr.read().decode()[-3000:]
        assert row is not None, "the worker did not run the task in 90 s"
        success, _result = row
        assert success is True
        backends = owner_sql.execute("SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = %s"
                                     " AND usename = %s", [connection.settings_dict["NAME"],
                                                           settings.APP_WORKER_DB_USER]).fetchall()
        assert backends == [(settings.APP_WORKER_DB_USER,)]
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    assert len(organization_ids()) == 2
