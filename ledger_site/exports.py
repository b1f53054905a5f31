"""The one writer of every CSV and XLSX file the product exports (issue 22).

Every cell goes through `cell()`: numbers, dates and Decimals stay what they are; every text cell
that a spreadsheet would read as a formula or a command (it starts with = + - @, a tab, a carriage
return or a line feed, or their full-width forms) gets a leading apostrophe, which spreadsheet
programs show as text. Callers pass amounts as Decimal (never as pre-formatted text), so a negative
amount stays a number while a customer name "-1+1" becomes text.

Nothing outside this module writes csv or openpyxl rows (tests/security/test_exports.py greps).
"""

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
NO_STORE = "private, no-store"


def safe_text(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def cell(value):
    """A value as it may be written to a spreadsheet cell."""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent < -2:
        # numeric(18, 3) columns read back as 100.000: write 100.00, keeping a third decimal
        # only where it is significant (3-decimal currencies); the value is unchanged (issue 21).
        cents = value.quantize(Decimal("0.01"))
        return cents if cents == value else value
    if isinstance(value, int | Decimal | float | date | datetime):
        return value
    return safe_text(value)


class _Echo:
    def write(self, value):
        return value


def csv_lines(rows: Iterable[Iterable]) -> Iterable[str]:
    """Each row as one CSV line (for streaming); every cell through `cell()`."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([cell(v) for v in row])


def csv_bytes(rows: Iterable[Iterable], bom: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def _attachment(response, filename: str):
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename)[:150]
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["Cache-Control"] = NO_STORE
    return response


def csv_stream_response(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    return _attachment(StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8"), filename)


def download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    return _attachment(HttpResponse(content, content_type=content_type), filename)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_workbook(title: str):
    """A new workbook and its first sheet; write rows with `xlsx_append`."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = safe_text(title)[:31] or "Sheet"
    return wb, ws


def xlsx_append(ws, row: Iterable) -> list:
    """Append `row` and return its cells, to format them. (Indexing the sheet by max_row would do, but openpyxl
    finds max_row and max_column by scanning every cell: quadratic: over half an hour for 100,000 rows.)"""
    from openpyxl.cell import Cell

    cells = [Cell(ws, value=cell(v)) for v in row]
    ws.append(cells)
    return cells


def xlsx_bytes(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
