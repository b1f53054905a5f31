"""The append-only tables: one list (accounts.signals.APPEND_ONLY_TABLES) that matches the tables
carrying the refuse-change triggers, and the application role holds no right to change them."""

import pytest
from django.conf import settings
from django.db import connection

from accounts.signals import APPEND_ONLY_TABLES, CHILD_TABLES, FROZEN_TABLES, NEVER_DELETED

pytestmark = pytest.mark.django_db


def test_the_list_is_exactly_the_tables_with_the_triggers():
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT DISTINCT c.relname FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE p.proname = 'ledger_refuse_change'""")
        assert {row[0] for row in cursor.fetchall()} == set(APPEND_ONLY_TABLES)


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_the_application_role_may_only_read_and_add(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, %s, p) FROM unnest(%s::text[]) AS p",
                       [settings.APP_DB_USER, table, ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"]])
        # Seals and audit events are added only by the database itself (SECURITY DEFINER triggers).
        adds = table not in ("accounts_sealrecord", "accounts_auditevent")
        assert [row[0] for row in cursor.fetchall()] == [True, adds, False, False, False]


# --- Issued documents, frozen (accounts.frozen) ------------------------------------------------

def _trigger_args(function):
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, t.tgargs FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE p.proname = %s AND t.tgtype & 1 = 1""", [function])  # the row-level trigger
        return {name: tuple(bytes(args).decode().split("\x00")[:-1]) for name, args in cursor.fetchall()}


def test_frozen_list_is_exactly_the_tables_with_the_frozen_trigger_and_its_arguments():
    assert _trigger_args("ledger_guard_frozen") == FROZEN_TABLES


def test_child_list_is_exactly_the_tables_with_the_child_trigger_and_its_arguments():
    assert _trigger_args("ledger_guard_child") == CHILD_TABLES


def test_every_frozen_table_also_refuses_truncate():
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE p.proname IN ('ledger_guard_frozen', 'ledger_guard_child') AND t.tgtype & 32 = 32""")
        assert {row[0] for row in cursor.fetchall()} == set(FROZEN_TABLES) | set(CHILD_TABLES)


@pytest.mark.parametrize("table", NEVER_DELETED)
def test_the_application_role_never_deletes_issued_records(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, %s, 'DELETE'), has_table_privilege(%s, %s, 'TRUNCATE')",
                       [settings.APP_DB_USER, table, settings.APP_DB_USER, table])
        assert cursor.fetchone() == (False, False)


def test_only_the_database_writes_seals():
    role = settings.APP_DB_USER
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, 'accounts_sealrecord', 'INSERT'), "
                       "has_column_privilege(%s, 'accounts_ledgerhead', 'seal_hash', 'UPDATE'), "
                       "has_column_privilege(%s, 'accounts_ledgerhead', 'last_hash', 'UPDATE')", [role, role, role])
        assert cursor.fetchone() == (False, False, True)
