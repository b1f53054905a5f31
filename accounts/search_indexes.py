"""The global search's trigram indexes (issue 21; ledger_site.search), made only where the
database has the pg_trgm extension.

Search matches with `icontains` (UPPER(column) LIKE '%TEXT%'), which works on any PostgreSQL; a
GIN trigram index on UPPER(column) makes it fast at scale. The production server (Debian's
PostgreSQL, docker-compose) ships pg_trgm; the embedded development database (pgserver) does not,
so there the search runs without the index instead of the migration failing. The indexes are kept
out of the models' Meta for that reason: they exist or not by database, not by model state.
"""

from django.db import migrations

# index name -> (table, the indexed expressions)
SEARCH_INDEXES = {
    "search_customer_trgm": ("accounts_customer", ("upper(name)", "upper(code)", "upper(billing_emails)",
                                                   "upper(tax_id)")),
    "search_invoice_trgm": ("invoicing_invoice", ("upper(number)", "upper(reference)")),
    "search_payment_trgm": ("payments_payment", ("upper(reference)",)),
}


def trigram_available(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    return cursor.fetchone() is not None


def _create(names):
    def forward(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            if not trigram_available(cursor):
                return
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for name in names:
                table, expressions = SEARCH_INDEXES[name]
                columns = ", ".join(f"({e}) gin_trgm_ops" for e in expressions)
                cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({columns})")
    return forward


def _drop(names):
    def backward(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
    return backward


def TrigramSearchIndexes(*names):  # noqa: N802 - reads as the migration operation it is
    return migrations.RunPython(_create(names), _drop(names), elidable=False)
