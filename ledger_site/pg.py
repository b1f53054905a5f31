"""Django's psycopg connection, for the few hot paths that talk to it directly (the ledger's
posting statement, issuing): prepared statements and pipelines, which the ORM does not use."""

from django.conf import settings
from django.db import connection


def raw_connection():
    """The psycopg connection under Django's (opened if needed), in Django's transaction.

    Django switches psycopg's automatic preparing off (prepare_threshold None), which also
    makes psycopg ignore `execute(..., prepare=True)`; a threshold nobody reaches keeps
    automatic preparing off and honours explicit requests. Behind a pooler that cannot keep
    prepared statements (PgBouncer in transaction mode before 1.21), set
    LEDGER_PREPARED_STATEMENTS = False and nothing is prepared.
    Errors should be raised inside `connection.wrap_database_errors` to arrive as Django's.
    """
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    pg = connection.connection
    if pg.prepare_threshold is None and prepared():
        pg.prepare_threshold = 2**31 - 1
    return pg


def prepared() -> bool:
    return getattr(settings, "LEDGER_PREPARED_STATEMENTS", True)
