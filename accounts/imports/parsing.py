"""Reading an uploaded file into rows of text, and the number and date rules for its cells.

`open_table(data, filename, encoding=None, delimiter=None)` accepts CSV (any delimiter, quoting,
a BOM, UTF-8 or Windows-1252 detected, or chosen) and XLSX (openpyxl, read-only: rows are
streamed, the workbook is never loaded whole). Every cell arrives as text (identifiers keep their
leading zeros); an XLSX date cell arrives as ISO `YYYY-MM-DD`, a number as its exact digits.
A file that is neither, an empty one, one above settings.IMPORT_MAX_BYTES, or a zip bomb dressed
as a workbook raises ImportFileError with a message for people.

Numbers (`parse_number`): `1,234.5`, `1.234,50`, `1 234,50`, `(12.00)`, `12-`, `-12`, a currency
sign or code around it. Which of `.` and `,` is the decimal separator is decided for the whole
column (`NumberColumn`), never per cell: a column whose values only ever read `1,234` is
ambiguous, and the user is asked to choose.

Dates (`DateColumn`): every format in DATE_FORMATS that reads every value of the column stays a
candidate; one left is the column's format, several (3/1/2013: March or January?) is reported as
ambiguous, never guessed.
"""

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.conf import settings

XLSX_MAGIC = b"PK\x03\x04"
BINARY_MAGIC = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
                b"%PDF": "a PDF document", b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or Office file"}
DELIMITERS = ",;\t|"
ENCODINGS = {"utf-8": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1 (ISO 8859-1)"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read; nothing was imported."""


def max_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", 20 * 1024 * 1024)


@dataclass
class Table:
    """The header and a way to stream the rows (each a list of text cells) from the start."""
    headers: list[str]
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""
    _rows: object = None  # a callable returning an iterator over the data rows

    def rows(self):
        """(row number as the user sees it in the file, cells), header excluded."""
        return self._rows()


def open_table(data: bytes, filename: str = "", encoding: str | None = None,
               delimiter: str | None = None) -> Table:
    if not data:
        raise ImportFileError("The file is empty.")
    if len(data) > max_bytes():
        raise ImportFileError(f"The file is {len(data) / 1048576:.1f} MB; the limit is "
                              f"{max_bytes() / 1048576:.0f} MB. Split it into smaller files.")
    if data.startswith(XLSX_MAGIC):
        return _open_xlsx(data)
    for magic, what in BINARY_MAGIC.items():
        if data.startswith(magic):
            raise ImportFileError(f"This file is {what}, not a CSV or XLSX file.")
    if b"\x00" in data[:65536]:
        raise ImportFileError("This is not a CSV or XLSX file (it contains binary data). "
                              "Save it from your spreadsheet as CSV or XLSX.")
    return _open_csv(data, encoding, delimiter)


def decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    """(text, the encoding used): a BOM wins, then the chosen encoding, then UTF-8, then Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8"
    candidates = [encoding] if encoding else ["utf-8", "cp1252", "latin-1"]
    for name in candidates:
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
        except LookupError as e:
            raise ImportFileError(f"Unknown encoding {name!r}.") from e
    raise ImportFileError(f"The file is not valid {ENCODINGS.get(encoding, encoding)} text; "
                          "choose another encoding.")


def _open_csv(data: bytes, encoding, delimiter) -> Table:
    try:
        text, used = decode(data, encoding)
    except UnicodeDecodeError as e:
        raise ImportFileError("The file starts with a UTF-8 marker but is not valid UTF-8.") from e
    if not text.strip():
        raise ImportFileError("The file is empty.")
    if delimiter is None:
        delimiter = sniff_delimiter(text[:65536])
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        headers = next(reader)
    except csv.Error as e:
        raise ImportFileError(f"The file cannot be read as CSV: {e}.") from e
    headers = _clean_headers(headers)

    def rows():
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        next(reader)
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    yield reader.line_num, cells
        except csv.Error as e:
            raise ImportFileError(f"Line {reader.line_num} cannot be read as CSV: {e}.") from e

    return Table(headers, "csv", used, delimiter, rows)


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines into the same (largest) number of cells."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _clean_headers(headers) -> list[str]:
    cleaned = [str(h or "").strip() for h in headers]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    if not cleaned:
        raise ImportFileError("The first row (the header) is empty: put the column names there.")
    seen = set()
    for h in cleaned:
        if not h:
            raise ImportFileError("A column in the header has no name.")
        if h.lower() in seen:
            raise ImportFileError(f"The column name {h!r} appears twice in the header.")
        seen.add(h.lower())
    return cleaned


def _open_xlsx(data: bytes) -> Table:
    import openpyxl

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as e:
        raise ImportFileError("The file looks like an XLSX workbook but is damaged.") from e
    limit = getattr(settings, "IMPORT_MAX_UNPACKED_BYTES", 10 * max_bytes())
    if unpacked > limit:
        raise ImportFileError(f"The workbook unpacks to {unpacked / 1048576:.0f} MB, more than the "
                              f"{limit / 1048576:.0f} MB allowed; it is refused.")
    if "xl/workbook.xml" not in archive.namelist():
        raise ImportFileError("The file is a ZIP archive, not an XLSX workbook.")

    def load():
        try:
            return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception as e:  # openpyxl raises many kinds for a broken workbook
            raise ImportFileError(f"The XLSX workbook cannot be read: {e}.") from e

    workbook = load()
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise ImportFileError("The workbook has no sheet.")
    first = next(sheet.iter_rows(values_only=True), None)
    workbook.close()
    if first is None:
        raise ImportFileError("The file is empty.")
    headers = _clean_headers([_xlsx_text(v) for v in first])

    def rows():
        book = load()
        try:
            for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
                if number == 1:
                    continue
                cells = [_xlsx_text(v) for v in values]
                while len(cells) > len(headers) and not cells[-1]:
                    cells.pop()  # trailing empty cells of a wider sheet
                if any(c.strip() for c in cells):
                    yield number, cells
        finally:
            book.close()

    return Table(headers, "xlsx", "", "", rows)


def _xlsx_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float: 1234.5, not 1234.4999999.
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


# --- Numbers ------------------------------------------------------------------------------

_NUMBER_JUNK = re.compile(r"[\s\u00a0\u202f'’]|[A-Z]{3}|[$€£¥₹]")
_SHAPE = re.compile(r"^[0-9.,]+$")
_DIGIT = re.compile(r"\d")


class ParseError(ValueError):
    pass


def _strip_number(raw: str) -> tuple[str, bool]:
    """(digits and separators, negative?) or ParseError."""
    text = _NUMBER_JUNK.sub("", raw.strip().upper())
    negative = False
    if text.startswith("(") and text.endswith(")"):
        text, negative = text[1:-1], True
    if text.endswith("-"):
        text, negative = text[:-1], not negative
    elif text.startswith("-"):
        text, negative = text[1:], not negative
    elif text.startswith("+"):
        text = text[1:]
    if not text or not _SHAPE.match(text) or not _DIGIT.search(text):
        raise ParseError(f"{raw!r} is not a number.")
    return text, negative


def decimal_evidence(raw: str) -> str | None:
    """"." or "," if the value shows which is the decimal separator, else None (e.g. 1,234 or 12)."""
    try:
        text, _ = _strip_number(raw)
    except ParseError:
        return None
    dot, comma = text.rfind("."), text.rfind(",")
    if dot >= 0 and comma >= 0:
        return "." if dot > comma else ","
    for sep, other in ((".", ","), (",", ".")):
        at = text.rfind(sep)
        if at >= 0 and other not in text:
            if text.count(sep) > 1:
                return other  # 1.234.567: thousands groups
            if len(text) - at - 1 != 3 or text.startswith("0" + sep) or at == 0:
                return sep  # 12,5 / 0,125 / 12.50: a decimal part
    return None


def parse_number(raw: str, decimal_sep: str = ".") -> Decimal:
    """The exact Decimal that `raw` writes, with `decimal_sep` as the decimal separator."""
    text, negative = _strip_number(raw)
    thousands = "," if decimal_sep == "." else "."
    if text.count(decimal_sep) > 1:
        raise ParseError(f"{raw!r} has more than one decimal separator {decimal_sep!r}.")
    whole, _, frac = text.partition(decimal_sep)
    if thousands in whole:
        groups = whole.split(thousands)
        if not groups[0] or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:]):
            raise ParseError(f"{raw!r}: the thousands separators are misplaced.")
        whole = "".join(groups)
    if thousands in frac:
        raise ParseError(f"{raw!r} is not a number.")
    try:
        value = Decimal(f"{whole or '0'}.{frac or '0'}")
    except InvalidOperation as e:
        raise ParseError(f"{raw!r} is not a number.") from e
    if not frac:
        value = value.quantize(Decimal(1))
    return -value if negative and value else value


@dataclass
class NumberColumn:
    """Decides one column's decimal separator from all its values (streamed through `see`)."""
    chosen: str | None = None
    seen: set = field(default_factory=set)
    ambiguous: bool = False

    def see(self, raw: str) -> None:
        if not raw.strip() or self.chosen:
            return
        evidence = decimal_evidence(raw)
        if evidence:
            self.seen.add(evidence)
        elif re.search(r"\d[.,]\d{3}$", raw.strip().rstrip(")-")):
            self.ambiguous = True

    def decided(self) -> tuple[str | None, str]:
        """(separator, "") or (None, why)."""
        if self.chosen:
            return self.chosen, ""
        if len(self.seen) > 1:
            return None, "mixes 1,234.50 and 1.234,50 styles; choose the decimal separator"
        if self.seen:
            return next(iter(self.seen)), ""
        if self.ambiguous:
            return None, "has values like 1,234 that read as a thousand or as one; choose the decimal separator"
        return ".", ""


# --- Dates --------------------------------------------------------------------------------

DATE_FORMATS = {
    "%Y-%m-%d": "2013-03-01", "%Y/%m/%d": "2013/03/01",
    "%d.%m.%Y": "01.03.2013", "%d.%m.%y": "01.03.13",
    "%d/%m/%Y": "01/03/2013 (day first)", "%m/%d/%Y": "03/01/2013 (month first)",
    "%d/%m/%y": "01/03/13 (day first)", "%m/%d/%y": "03/01/13 (month first)",
    "%d-%m-%Y": "01-03-2013 (day first)", "%m-%d-%Y": "03-01-2013 (month first)",
    "%d-%b-%y": "1-Mar-13", "%d-%b-%Y": "1-Mar-2013", "%d %b %Y": "1 Mar 2013",
}
_TWO_DIGIT_YEAR = {"%d.%m.%y", "%d/%m/%y", "%m/%d/%y", "%d-%b-%y"}


def parse_date(raw: str, fmt: str) -> date:
    """The date `raw` writes in `fmt` (ParseError if it does not). Files repeat their dates a lot:
    the answers are cached."""
    result = _parse_date(raw.strip(), fmt)
    if isinstance(result, str):
        raise ParseError(result)
    return result


@lru_cache(maxsize=8192)
def _parse_date(text: str, fmt: str) -> date | str:
    raw = text
    if fmt in _TWO_DIGIT_YEAR and re.search(r"\d{4}$", text):
        return f"{raw!r} does not match {DATE_FORMATS[fmt]}."
    if " " in text and fmt == "%Y-%m-%d":
        text = text.split(" ")[0]  # 2013-03-01 00:00:00 from a spreadsheet
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        return f"{raw!r} is not a date in the form {DATE_FORMATS.get(fmt, fmt)}."


def _readable(raw: str, fmt: str) -> bool:
    return not isinstance(_parse_date(raw.strip(), fmt), str)


@dataclass
class DateColumn:
    """Narrows one column's possible formats with every value (streamed through `see`)."""
    chosen: str | None = None
    candidates: set = field(default_factory=lambda: set(DATE_FORMATS))
    example: str = ""  # a value that more than one format reads
    any_value: bool = False

    def see(self, raw: str) -> None:
        if not raw.strip() or self.chosen:
            return
        self.any_value = True
        left = set()
        for fmt in self.candidates:
            try:
                parse_date(raw, fmt)
                left.add(fmt)
            except ParseError:
                pass
        if left:
            self.candidates = left
            if len(left) > 1 and not self.example:
                self.example = raw.strip()
        elif any(_readable(raw, fmt) for fmt in DATE_FORMATS):
            self.candidates = set()  # a date, but in another form than the values before it
        # else: not a date in any form (31.02.2025, "soon"): its row reports it; the column's form stands

    def decided(self) -> tuple[str | None, str]:
        if self.chosen:
            return self.chosen, ""
        if not self.any_value:
            return "%Y-%m-%d", ""
        if len(self.candidates) == 1:
            return next(iter(self.candidates)), ""
        if not self.candidates:
            return None, "has dates in more than one form (or values that are not dates); choose the date format"
        forms = " or ".join(sorted(DATE_FORMATS[f] for f in self.candidates))
        return None, (f"is ambiguous: {self.example!r} could be {forms}; choose the date format")
