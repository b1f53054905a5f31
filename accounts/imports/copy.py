"""Many rows into one table fast: COPY into a session-temporary staging table, then one
INSERT ... SELECT into the table itself.

PostgreSQL refuses COPY into a table under row-level security for a role subject to it (the
application role is), so the rows are staged first, as accounts.ledger_bulk does; RLS's WITH
CHECK, the constraints, foreign keys and triggers then apply to the INSERT exactly as to any
other. psycopg converts the values in COPY (no SQL text per row, no ORM compilation), which is
where an ORM bulk_create of tens of thousands of rows spends its time.

    copy_insert(InvoiceLine, lines, ["organization", "invoice", "position", ...])

Only the columns named are written: the others take the table's default or NULL (Django keeps
no defaults in the database, so name every NOT NULL column). Without "id" the table's identity
gives each row its id; set `obj.pk` beforehand and include "id" to choose it. Run inside a
transaction: the staging table is dropped at commit.
"""

import json

from django.db import connection
from django.db.models import JSONField

from ledger_site.pg import raw_connection


def copy_insert(model, objs, fields: list[str]) -> int:
    meta = model._meta
    table = meta.db_table
    stage = f"import_stage_{table}"
    model_fields = [meta.get_field(name) for name in fields]
    columns = ", ".join(f'"{f.column}"' for f in model_fields)
    with connection.cursor() as cursor:
        # Only these columns, with their types and no constraints: the table's own apply at the INSERT.
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{stage}")
        cursor.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA")  # noqa: S608 - names from the model's metadata
    pg = raw_connection()
    jsons = [isinstance(f, JSONField) for f in model_fields]
    attnames = [f.attname for f in model_fields]
    n = 0
    with connection.wrap_database_errors, pg.cursor() as cur, \
            cur.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
        for obj in objs:
            row = [getattr(obj, a) for a in attnames]
            for i, is_json in enumerate(jsons):
                if is_json and row[i] is not None:
                    row[i] = json.dumps(row[i])
            copy.write_row(row)
            n += 1
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}")  # noqa: S608 - names from the model's metadata
    return n
