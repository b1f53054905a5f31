"""Composite tenant foreign keys: the database refuses a reference across organizations.

Django makes single-column foreign keys (`invoice.customer_id -> customer.id`). Row-level
security does not apply to the foreign-key check, so an insert in organization A's context could
point at organization B's customer, and the error (or its absence) told whether an id exists.

`cover` finds, in the catalog, every foreign key from a table with an
`organization_id` column to another such table that does not carry `organization_id` on both
sides, and replaces it: a `UNIQUE (organization_id, id)` on the target (`<table>_org_key`, once per
table) and `FOREIGN KEY (organization_id, <col>) REFERENCES target (organization_id, id)`, deferrable
like Django's. The single-column key is dropped (the composite one implies it; keeping it would
keep the existence oracle). It is idempotent: a later migration calls `CoverTenantForeignKeys()`
again to cover tables added since (tests/test_tenant_keys.py fails for any table it missed).
"""

import hashlib

from django.db import migrations

# Foreign keys between two tenant tables whose columns do not map organization_id to itself.
UNCOVERED_SQL = """
    SELECT c.oid, c.conname, src.relname, tgt.relname,
           (SELECT array_agg(a.attname ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n),
           (SELECT array_agg(a.attname ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
            JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n)
    FROM pg_constraint c
    JOIN pg_class src ON src.oid = c.conrelid
    JOIN pg_class tgt ON tgt.oid = c.confrelid
    JOIN pg_namespace n ON n.oid = src.relnamespace AND n.nspname = current_schema()
    WHERE c.contype = 'f'
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid
                  AND a.attname = 'organization_id' AND NOT a.attisdropped)
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.confrelid
                  AND a.attname = 'organization_id' AND NOT a.attisdropped)
      AND NOT EXISTS (
          SELECT 1 FROM unnest(c.conkey, c.confkey) AS k(s, t)
          JOIN pg_attribute sa ON sa.attrelid = c.conrelid AND sa.attnum = k.s
          JOIN pg_attribute ta ON ta.attrelid = c.confrelid AND ta.attnum = k.t
          WHERE sa.attname = 'organization_id' AND ta.attname = 'organization_id')
    ORDER BY src.relname, c.conname
"""


def uncovered(cursor) -> list[tuple[str, str, str, list[str], list[str]]]:
    """(constraint, source table, target table, source columns, target columns) still single-tenant-blind."""
    cursor.execute(UNCOVERED_SQL)
    return [row[1:] for row in cursor.fetchall()]


def _name(*parts: str, suffix: str) -> str:
    name = "_".join(parts) + suffix
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:63 - len(suffix) - 9]}_{digest}{suffix}"


def _has_org_key(cursor, table: str) -> bool:
    cursor.execute("""
        SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace
          AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM unnest(i.indkey) k(n)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n) = ARRAY['id', 'organization_id']
    """, [table])
    return cursor.fetchone() is not None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cover(cursor) -> list[str]:
    """Replace every uncovered tenant->tenant foreign key by a composite one (see module doc).

    Works on any DB-API cursor of the table owner; returns the names of the keys it added."""
    added, quote = [], _quote
    # Rows written earlier in the same transaction would block ALTER TABLE ("pending trigger events").
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for conname, source, target, columns, target_columns in uncovered(cursor):
        if len(columns) != 1 or target_columns != ["id"]:
            raise RuntimeError(f"{source}.{conname}: only single-column keys to id are covered automatically")
        if not _has_org_key(cursor, target):
            # Validated once here; on a big table this is one index build.
            cursor.execute(f"ALTER TABLE {quote(target)} ADD CONSTRAINT {quote(_name(target, suffix='_org_key'))}"
                           f" UNIQUE (organization_id, id)")
        fk = _name(source, columns[0], suffix="_tenant_fk")
        # Existing rows are checked once, here: a cross-tenant row already stored fails the migration.
        cursor.execute(
            f"ALTER TABLE {quote(source)} ADD CONSTRAINT {quote(fk)}"
            f" FOREIGN KEY (organization_id, {quote(columns[0])}) REFERENCES {quote(target)} (organization_id, id)"
            f" DEFERRABLE INITIALLY DEFERRED")
        cursor.execute(f"ALTER TABLE {quote(source)} DROP CONSTRAINT {quote(conname)}")
        added.append(fk)
    return added


def cover_tenant_foreign_keys(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cover(cursor)


def CoverTenantForeignKeys() -> migrations.RunPython:  # noqa: N802 (reads like an operation class)
    """The migration operation: cover every tenant->tenant foreign key that exists at this point.

    Not reversed: going back leaves the composite keys (they only refuse what was already wrong)."""
    return migrations.RunPython(cover_tenant_foreign_keys, migrations.RunPython.noop, elidable=False)
