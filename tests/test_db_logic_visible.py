"""Database logic is visible: every trigger on every table is listed in docs/architecture.md
("What fires when you write X"), and every index on an app's table that Django did not create
for its own model is declared by the model that owns the table (Meta.indexes)."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection

from accounts.search_indexes import SEARCH_INDEXES

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
TRIGGER_DEF = re.compile(r"CREATE (?:CONSTRAINT )?TRIGGER (\S+) (BEFORE|AFTER|INSTEAD OF) (.+?) ON (?:public\.)?(\S+) "
                         r"(?:(?:NOT )?DEFERRABLE INITIALLY \w+ )?(?:REFERENCING .*? )?FOR EACH (ROW|STATEMENT)")


def documented_triggers(text: str) -> set[tuple[str, str, str, str]]:
    section = text.split("## What fires when you write X", 1)[1].split("\n## ", 1)[0]
    rows = set()
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and line.startswith("| `"):
            rows.add(tuple(cells[:4]))
    return rows


def database_triggers() -> set[tuple[str, str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT pg_get_triggerdef(t.oid), p.proname FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE NOT t.tgisinternal AND n.nspname = current_schema()
        """)
        rows = set()
        for definition, function in cursor.fetchall():
            name, timing, events, table, level = TRIGGER_DEF.match(definition).groups()
            rows.add((table, name, f"{timing} {events}, each {level.lower()}", function))
    return rows


@pytest.mark.django_db
def test_every_trigger_is_in_the_architecture_page_and_nothing_else():
    in_db, in_doc = database_triggers(), documented_triggers(DOC.read_text())
    assert in_db, "the journal's append-only triggers at least"
    assert sorted(in_db - in_doc) == [], "triggers missing from docs/architecture.md"
    assert sorted(in_doc - in_db) == [], "documented triggers the database does not have"


def test_the_page_parser_reads_rows_and_ignores_other_tables():
    text = ("## Where each rule lives\n| `x` | `y` | z | `w` | other |\n"
            "## What fires when you write X\n| table | trigger | fires | function |\n|---|---|---|---|\n"
            "| `t` | `t_no_truncate` | BEFORE TRUNCATE, each statement | `f` | why |\n"
            "## Next\n| `a` | `b` | c | `d` |\n")
    assert documented_triggers(text) == {("t", "t_no_truncate", "BEFORE TRUNCATE, each statement", "f")}


@pytest.mark.django_db
def test_indexes_on_an_apps_tables_are_declared_by_the_owning_model():
    owned = {}  # table → names Django knows for the model (declared indexes, constraints, FK/unique indexes)
    for model in apps.get_models():
        if model._meta.app_label not in {"accounts", "invoicing", "payments", "reminders", "reports"}:
            continue
        table = model._meta.db_table
        names = owned.setdefault(table, set())
        names.update(i.name for i in model._meta.indexes)
        names.update(c.name for c in model._meta.constraints)
    # The search's trigram indexes are declared in one place of their own (made only where the
    # database has pg_trgm, so they cannot live in model state).
    for name, (table, *_definition) in SEARCH_INDEXES.items():
        owned.setdefault(table, set()).add(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema()")
        in_db = cursor.fetchall()
    # Django's own names (pkey, *_key, FK and db_index indexes: hashed suffixes) are the model's by construction.
    django_made = re.compile(r".*(_pkey|_key|_[0-9a-f]{8}(_like|_uniq)?)$")
    undeclared = sorted((t, i) for t, i in in_db if t in owned and i not in owned[t] and not django_made.match(i))
    assert undeclared == []
    declared_missing = sorted((t, i) for t, names in owned.items() for i in names
                              if i.startswith(("rep_", "reminders_")) and (t, i) not in set(in_db))
    assert declared_missing == []
