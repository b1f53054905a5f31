"""Document numbers: assigned when a document is issued, gapless per organization, kind and
(optionally) year. Taking a number is one upsert on the series row: it creates the series at 1
or adds one, and holds the row's lock until the issuing transaction ends, so a rolled-back issue
gives its number back and concurrent issues queue instead of colliding."""

from datetime import date

from django.db import connection

from invoicing.models import InvoiceSettings

KINDS = {"invoice": "invoice_prefix", "credit_note": "credit_note_prefix", "late_fee": "late_fee_prefix"}

# Appended to an INSERT of a series row at 1: the upsert that takes the next number (also used by
# invoicing.issuing, which inserts from the locked invoice row).
NEXT_NUMBER = """
ON CONFLICT (organization_id, kind, year) DO UPDATE SET last_number = invoicing_numberseries.last_number + 1
RETURNING last_number
"""
_TAKE_SQL = """
INSERT INTO invoicing_numberseries (organization_id, kind, year, last_number) VALUES (%s, %s, %s, 1)
""" + NEXT_NUMBER


def format_number(settings: InvoiceSettings, kind: str, year: int, n: int) -> str:
    prefix = getattr(settings, KINDS[kind])
    middle = f"{year}-" if settings.number_includes_year else ""
    return f"{prefix}{middle}{n:0{settings.number_padding}d}"


def take_number(org, kind: str, on: date, settings: InvoiceSettings | None = None) -> str:
    """The next number of the series; call inside the issuing transaction."""
    if settings is None:
        settings = InvoiceSettings.objects.get(organization=org)
    year = on.year if settings.reset_yearly else 0
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, [org.pk, kind, year])
        (n,) = cursor.fetchone()
    return format_number(settings, kind, on.year, n)
