"""Exports in the import layout: what an importer reads, written back as CSV or XLSX, so that an
organization exported and imported into another gives the same books (the round trip).

Every text cell that a spreadsheet would run as a formula (starting with = + - @) is written
with a leading apostrophe, in CSV and XLSX alike.
"""

import csv
import io

from accounts.imports import get_importer

FORMULA_START = ("=", "+", "-", "@")


def safe(value) -> str:
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_START and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_rows(org, kind: str):
    rows = get_importer(kind).export_rows(org)
    if rows is None:
        raise LookupError(f"There is no export for {kind}.")
    return ([safe(v) for v in row] for row in rows)


def export_csv(org, kind: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(export_rows(org, kind))
    return out.getvalue().encode("utf-8")


def export_xlsx(org, kind: str) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(kind)
    for row in export_rows(org, kind):
        # All text: identifiers keep their zeros and amounts their exact digits.
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
