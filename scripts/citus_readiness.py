#!/usr/bin/env python
"""What would change to distribute this schema with Citus, organization_id as the distribution
column (docs/scale_out.md). Reads the catalog of a migrated database and prints, per table kind,
the keys and constraints that Citus would require to include organization_id.

    .venv/bin/python scripts/citus_readiness.py postgres://postgres@127.0.0.1:5432/ledgerline

Read-only. Citus' rules used here: a distributed table's primary key and unique constraints must
contain the distribution column; a foreign key between distributed tables must include it on both
sides (co-located tables); a foreign key from a distributed table to a reference table is allowed.
"""

import sys

import psycopg

TABLES_SQL = """
SELECT c.relname,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id'
               AND NOT a.attisdropped) AS tenant,
       c.relrowsecurity AS rls
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname
"""
CONSTRAINTS_SQL = """
SELECT cl.relname, co.conname, co.contype,
       (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = co.conrelid AND a.attnum = ANY (co.conkey)) AS columns,
       ft.relname AS references
FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace LEFT JOIN pg_class ft ON ft.oid = co.confrelid
WHERE n.nspname = 'public' AND co.contype IN ('p', 'u', 'f')
"""
UNIQUE_INDEXES_SQL = """
SELECT t.relname, i.relname,
       (SELECT array_agg(a.attname) FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = ANY (x.indkey))
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND x.indisunique AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
"""


def main(url: str) -> int:
    with psycopg.connect(url) as conn:
        tables = {name: (tenant, rls) for name, tenant, rls in conn.execute(TABLES_SQL)}
        constraints = conn.execute(CONSTRAINTS_SQL).fetchall()
        unique_indexes = conn.execute(UNIQUE_INDEXES_SQL).fetchall()
    tenant = sorted(t for t, (is_tenant, _) in tables.items() if is_tenant and t != "accounts_organization")
    other = sorted(t for t, (is_tenant, _) in tables.items() if not is_tenant or t == "accounts_organization")
    pk_without, unique_without, fk_single, fk_composite, fk_to_other = [], [], [], [], []
    for table, name, kind, columns, references in constraints:
        if table not in tenant:
            continue
        columns = columns or []
        if kind == "p" and "organization_id" not in columns:
            pk_without.append(table)
        elif kind == "u" and "organization_id" not in columns:
            unique_without.append(f"{table}.{name} {columns}")
        elif kind == "f":
            if references in tenant:
                (fk_composite if "organization_id" in columns else fk_single).append(f"{table}.{name} -> {references}")
            else:
                fk_to_other.append(f"{table}.{name} -> {references}")
    for table, name, columns in unique_indexes:
        if table in tenant and "organization_id" not in (columns or []):
            unique_without.append(f"{table}.{name} (index) {columns}")
    print(f"tables: {len(tables)}; tenant tables (organization_id): {len(tenant)}, "
          f"with row-level security: {sum(tables[t][1] for t in tenant)}")
    print(f"non-tenant tables (reference or local in Citus): {len(other)}: {', '.join(other)}")
    print(f"tenant primary keys without organization_id (become (organization_id, id)): {len(pk_without)}")
    print(f"tenant unique constraints/indexes without organization_id: {len(unique_without)}")
    for item in sorted(unique_without):
        print(f"  {item}")
    print(f"foreign keys between tenant tables: {len(fk_single) + len(fk_composite)}; "
          f"single-column (Citus needs organization_id in them): {len(fk_single)}; "
          f"composite with organization_id already: {len(fk_composite)}")
    print(f"foreign keys from tenant tables to non-tenant tables (to reference tables: allowed): {len(fk_to_other)}")
    for item in sorted(set(f.split(' -> ')[1] for f in fk_to_other)):
        print(f"  -> {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "postgres://postgres@127.0.0.1:5432/ledgerline"))
