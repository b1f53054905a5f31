"""The journal of a period for the general ledger: CSV, XLSX and Xero's manual journal CSV.

Every journal line whose entry's effective date lies in the period, in the journal's order
(date, sequence, line). Layout: docs/journal_export.md. The same ledger gives the same bytes:
nothing in a file depends on when it was made (the XLSX's zip and document dates are fixed), so
the export of a closed period is stable. Each export carries the chain head it covers: the
sequence number and hash of the period's last entry, which by the hash chain seals every entry
before it.

Every row goes through the product's one export writer (ledger_site.exports), so a spreadsheet
does not read a customer's name as a formula.
"""

import io
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection

from accounts.money import quantum
from ledger_site.exports import csv_bytes, xlsx_append, xlsx_workbook

FORMATS = ("csv", "xlsx", "xero", "fec")
MAX_DAYS = 366 * 5  # one export covers at most five years

COLUMNS = ["entry_seq", "line_no", "date", "account_code", "account_name", "debit", "credit", "currency",
           "customer_code", "customer_name", "document", "source_type", "memo", "entry_hash"]
XERO_COLUMNS = ["*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount", "TrackingName1",
                "TrackingOption1", "TrackingName2", "TrackingOption2"]
XERO_TAX_RATE = "Tax Exempt"  # the amounts are already split into net and tax accounts

# One statement; the journal's own order. RLS keeps it to the organization in context, the
# filter says so too.
_LINES_SQL = """
SELECT e.seq, l.line_no, l.effective_date, a.code, a.name, l.amount, l.currency,
       coalesce(c.code, ''), coalesce(c.name, ''), e.source_label, e.source_type, e.memo, e.hash
FROM accounts_journalline l
JOIN accounts_journalentry e ON e.id = l.entry_id
JOIN accounts_account a ON a.id = l.account_id
LEFT JOIN accounts_customer c ON c.id = l.customer_id
WHERE l.organization_id = %(org)s AND e.organization_id = %(org)s
  AND l.effective_date BETWEEN %(start)s AND %(end)s
ORDER BY l.effective_date, e.seq, l.line_no
"""
_HEAD_SQL = """
SELECT seq, hash FROM accounts_journalentry
WHERE organization_id = %(org)s AND effective_date BETWEEN %(start)s AND %(end)s
ORDER BY seq DESC LIMIT 1
"""


class ExportError(ValueError):
    """A refused export (bad period, a format that cannot carry the data)."""


@dataclass(frozen=True)
class Line:
    seq: int
    line_no: int
    date: date
    account_code: str
    account_name: str
    amount: Decimal
    currency: str
    customer_code: str
    customer_name: str
    document: str
    source_type: str
    memo: str
    entry_hash: str

    @property
    def debit(self) -> Decimal:
        return self.amount if self.amount > 0 else Decimal(0)

    @property
    def credit(self) -> Decimal:
        return -self.amount if self.amount < 0 else Decimal(0)


@dataclass(frozen=True)
class JournalExport:
    org_slug: str
    base_currency: str
    start: date
    end: date
    lines: list[Line]
    head_seq: int | None  # the period's last entry: None for a period without entries
    head_hash: str

    @property
    def head_text(self) -> str:
        return f"{self.head_seq}:{self.head_hash}" if self.head_seq else "none"


EARLIEST, LATEST = date(1900, 1, 1), date(9999, 12, 30)  # room for the day before and after


def check_period(start: date, end: date) -> None:
    if start < EARLIEST or end > LATEST:
        raise ExportError("Choose a period between 1900 and 9999.")
    if end < start:
        raise ExportError("The period ends before it starts.")
    if (end - start).days > MAX_DAYS:
        raise ExportError("Export at most five years at a time.")


def journal_export(org, start: date, end: date) -> JournalExport:
    check_period(start, end)
    params = {"org": org.pk, "start": start, "end": end}
    with connection.cursor() as cursor:
        cursor.execute(_LINES_SQL, params)
        lines = [Line(*row) for row in cursor.fetchall()]
        cursor.execute(_HEAD_SQL, params)
        head = cursor.fetchone()
    return JournalExport(org.slug, org.base_currency, start, end, lines, head[0] if head else None,
                         head[1] if head else "")


def _amount(value: Decimal, currency: str) -> str:
    return str(value.quantize(quantum(currency))) if value else ""


def _row(line: Line) -> list:
    return [line.seq, line.line_no, line.date.isoformat(), line.account_code, line.account_name,
            _amount(line.debit, line.currency), _amount(line.credit, line.currency), line.currency,
            line.customer_code, line.customer_name, line.document, line.source_type, line.memo, line.entry_hash]


def metadata(export: JournalExport) -> list[tuple[str, str]]:
    return [("organization", export.org_slug), ("period_start", export.start.isoformat()),
            ("period_end", export.end.isoformat()), ("lines", str(len(export.lines))),
            ("chain_head_seq", str(export.head_seq or "")), ("chain_head_sha256", export.head_hash)]


def to_csv(export: JournalExport) -> bytes:
    """A first line `# key=value; ...` (period and chain head), then the header and one row per line."""
    head = "# Ledgerline journal; " + "; ".join(f"{k}={v}" for k, v in metadata(export)) + "\r\n"
    return head.encode("utf-8") + csv_bytes([COLUMNS, *(_row(line) for line in export.lines)], bom=False)


def to_xero_csv(export: JournalExport) -> bytes:
    """Xero's manual journal import: one journal per entry (rows sharing Narration and Date),
    debits positive, credits negative, dates dd/mm/yyyy. Xero journals are in the base currency,
    so a period with lines in another currency is refused rather than exported wrongly."""
    foreign = sorted({line.currency for line in export.lines if line.currency != export.base_currency})
    if foreign:
        raise ExportError(f"The period has lines in {', '.join(foreign)}; Xero manual journals are in the base "
                          f"currency ({export.base_currency}). Use the CSV or XLSX export.")
    rows = [XERO_COLUMNS]
    for line in export.lines:
        narration = f"Ledgerline #{line.seq} {line.memo}".strip()[:4000]
        description = " ".join(p for p in (line.document, line.customer_name) if p)
        # The amount stays a Decimal: the one writer neutralises text, and "-5.00" as text would be.
        rows.append([narration, line.date.strftime("%d/%m/%Y"), description, line.account_code,
                     XERO_TAX_RATE, line.amount.quantize(quantum(line.currency)), "", "", "", ""])
    return csv_bytes(rows, bom=False)


FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def to_xlsx(export: JournalExport) -> bytes:
    """Sheet "Journal": the CSV's columns, amounts as numbers with the currency's decimals;
    sheet "About": the period and the chain head."""
    from openpyxl.styles import Font

    wb, journal = xlsx_workbook("Journal")
    xlsx_append(journal, COLUMNS)
    for header in journal[1]:
        header.font = Font(bold=True)
    for line in export.lines:
        row = _row(line)
        row[5] = line.debit if line.debit else None
        row[6] = line.credit if line.credit else None
        cells = xlsx_append(journal, row)
        places = len(str(quantum(line.currency)).split(".")[1]) if "." in str(quantum(line.currency)) else 0
        for amount in cells[5:7]:
            amount.number_format = "0." + "0" * places if places else "0"
    about = wb.create_sheet("About")
    for key, value in metadata(export):
        xlsx_append(about, [key, value])
    fixed = _fixed_datetime(export)
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = "Ledgerline"
    raw = io.BytesIO()
    wb.save(raw)
    return _stable_zip(raw.getvalue(), fixed)


def _fixed_datetime(export: JournalExport):
    from datetime import datetime

    return datetime(export.end.year, export.end.month, export.end.day)


def _stable_zip(data: bytes, fixed) -> bytes:
    """The same workbook, with every zip entry dated 1980-01-01 and the document's modified time
    set to the period's end (openpyxl stamps both with the time of saving)."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _replace_element(content, b"dcterms:modified", stamp)
                content = _replace_element(content, b"dcterms:created", stamp)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, content)
    return out.getvalue()


def _replace_element(xml: bytes, tag: bytes, value: bytes) -> bytes:
    start = xml.find(b"<" + tag)
    if start < 0:
        return xml
    open_end = xml.find(b">", start) + 1
    close = xml.find(b"</" + tag + b">", open_end)
    return xml[:open_end] + value + xml[close:] if close > 0 else xml


def render(export: JournalExport, fmt: str, org=None) -> tuple[bytes, str, str]:
    """(content, content type, file name). The FEC (reports.fec) reads the organization too."""
    if fmt == "fec":
        from reports import fec

        content, filename = fec.render_fec(org, export.start, export.end)
        return content, f"text/plain; charset={fec.ENCODING}", filename
    name = f"journal-{export.org_slug}-{export.start.isoformat()}-{export.end.isoformat()}"
    if fmt == "csv":
        return to_csv(export), "text/csv; charset=utf-8", name + ".csv"
    if fmt == "xero":
        return to_xero_csv(export), "text/csv; charset=utf-8", name + "-xero.csv"
    if fmt == "xlsx":
        return (to_xlsx(export), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                name + ".xlsx")
    raise ExportError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
