"""Exports in the import layout: what an importer reads, written back as CSV or XLSX, so that an
organization exported and imported into another gives the same books (the round trip).

Rows go through the product's one export writer (ledger_site.exports), which writes every text
cell a spreadsheet would run as a formula with a leading apostrophe, in CSV and XLSX alike.
"""

import re
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


# "1.001" alone in a column reads as a thousand and one as well as one point nought nought one: the
# import reports such a column as undecided (parsing.NumberColumn). A fourth decimal (1.0010) is the
# same number and cannot be a thousands group.
LOOKS_GROUPED = re.compile(r"^[+-]?\d{1,3}\.\d{3}$")


def number_text(text: str) -> str:
    """A number as the export writes it (plain, no trailing zeros), read back by the import as the
    same number whatever else its column holds."""
    return text + "0" if LOOKS_GROUPED.match(text) else text


def export_rows(org, kind: str):
    importer = get_importer(kind)
    rows = importer.export_rows(org)
    if rows is None:
        raise LookupError(f"There is no export for {kind}.")
    types = {f.name: f.type for f in importer.fields}
    return _written(rows, types)


def _written(rows, types):
    numbers = None
    for row in rows:
        if numbers is None:  # the header: which columns hold numbers
            numbers = [types.get(str(name)) == "number" for name in row]
            yield [_value(v) for v in row]
            continue
        yield [_value(number_text(str(v)) if i < len(numbers) and numbers[i] and v not in (None, "") else v)
               for i, v in enumerate(row)]


def export_csv(org, kind: str) -> bytes:
    return csv_bytes(export_rows(org, kind), bom=False)


def export_xlsx(org, kind: str) -> bytes:
    book, sheet = xlsx_workbook(kind)
    for row in export_rows(org, kind):
        # Text, and signed numbers as numbers: identifiers keep their zeros and amounts their digits.
        xlsx_append(sheet, row)
    return xlsx_bytes(book)
