"""Test database set-up: created and migrated as the owner, then used as the application role.

So every test runs under row-level security exactly as the product does. `owner_sql` gives a
test the superuser connection for what only an owner may do (tamper tests, flushing
append-only tables between transactional tests).
"""

import os

import psycopg
import pytest
from django.db import connections

from tests.db_roles import owner_conninfo, use_app_role, use_owner_role, use_worker_role


def pytest_configure(config):
    """Tests create many users; the production password hasher's deliberate slowness
    (hundreds of milliseconds each) would dominate the run. Login throttling and password
    reset behave the same with a fast hasher."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# LEDGER_TEST_KEEPDB=1 (development only): keep the test database between runs and only apply new
# migrations, instead of migrating from nothing each time (about a minute of CPU per run). A changed
# migration is not re-applied then: drop the database or run without it. CI and `make test` never set it.
KEEPDB = os.environ.get("LEDGER_TEST_KEEPDB") == "1"


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        use_owner_role()
        old_config = setup_databases(verbosity=0, interactive=False, keepdb=KEEPDB)
        use_app_role()
        _flush_as_owner()
    yield
    with django_db_blocker.unblock():
        use_owner_role()
        teardown_databases(old_config, verbosity=0, keepdb=KEEPDB)


def _flush_as_owner():
    """Django flushes between transactional tests with TRUNCATE, which the journal's
    triggers rightly refuse. In tests only, flush through the superuser connection with
    triggers off (session_replication_role = replica)."""
    ops = connections["default"].ops

    def execute_sql_flush(sql_list):
        with psycopg.connect(owner_conninfo(), autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            for statement in sql_list:
                conn.execute(statement)

    ops.execute_sql_flush = execute_sql_flush


@pytest.fixture
def owner_sql():
    """A superuser psycopg connection to the test database (autocommit)."""
    with psycopg.connect(owner_conninfo(), autocommit=True) as conn:
        yield conn


@pytest.fixture
def world(db):
    """The one shared world (tests/factories.World): organization A with an owner, a finance member
    and a viewer; organization B with its own owner, the outsider."""
    from tests.factories import World

    return World(a={"name": "Organization A", "slug": "org-a"}, b={"name": "Organization B", "slug": "org-b"})


@pytest.fixture(scope="module")
def as_worker_role(django_db_setup, django_db_blocker):
    """The whole module connects as the worker's role: for tests that read or run django-q2's queue
    as the worker does (the application role has no privilege on its tables). Use with
    `pytestmark = pytest.mark.usefixtures("as_worker_role")`."""
    with django_db_blocker.unblock():
        use_worker_role()
    yield
    with django_db_blocker.unblock():
        use_app_role()
