"""The append-only tables: one list (accounts.signals.APPEND_ONLY_TABLES) that matches the tables
carrying the refuse-change triggers, and the application role holds no right to change them."""

import pytest
from django.conf import settings
from django.db import connection

from accounts.signals import APPEND_ONLY_TABLES

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
        assert [row[0] for row in cursor.fetchall()] == [True, True, False, False, False]
