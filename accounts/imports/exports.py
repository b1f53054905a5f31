"""Exports in the import layout: what an importer reads, written back as CSV or XLSX, so that an
organization exported and imported into another gives the same books (the round trip).

Rows go through the product's one export writer (ledger_site.exports), which writes every text
cell a spreadsheet would run as a formula with a leading apostrophe, in CSV and XLSX alike.
"""

from decimal import Decimal, InvalidOperation

from accounts.imports import get_importer
from ledger_site.exports import csv_bytes, xlsx_append, xlsx_bytes, xlsx_workbook


def _value(value):
    """Text as the importer reads it, except a signed number ("-12.50"), which is passed on as a
    number: the one export writer (ledger_site.exports) neutralises text that starts with + or -,
    and a number is what it is."""
    text = "" if value is None else str(value)
    if text[:1] in ("+", "-"):
        try:
            return Decimal(text)
        except InvalidOperation:
            pass
    return text


def export_rows(org, kind: str):
    rows = get_importer(kind).export_rows(org)
    if rows is None:
        raise LookupError(f"There is no export for {kind}.")
    return ([_value(v) for v in row] for row in rows)


def export_csv(org, kind: str) -> bytes:
    return csv_bytes(export_rows(org, kind), bom=False)


def export_xlsx(org, kind: str) -> bytes:
    book, sheet = xlsx_workbook(kind)
    for row in export_rows(org, kind):
        # Text, and signed numbers as numbers: identifiers keep their zeros and amounts their digits.
        xlsx_append(sheet, row)
    return xlsx_bytes(book)
