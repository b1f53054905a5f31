"""Exports of the aging report: CSV, XLSX (openpyxl) and PDF (WeasyPrint, the invoice renderer's
restricted fetcher); of revenue by segment: CSV and XLSX with the same columns. Amounts are
written as exact decimals, never through float text."""

from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.money import minor_units, quantum
from ledger_site.exports import csv_bytes, xlsx_append, xlsx_bytes, xlsx_workbook

PDF_MAX_ROWS = 5000  # a printable report; CSV and XLSX carry every row


def _plain(value: Decimal, currency: str) -> Decimal:
    return value.quantize(quantum(currency))


def aging_table(report) -> tuple[list[str], list[list], list[list]]:
    """(header, customer rows, summary rows) with Decimal amounts."""
    header = [_("Code"), _("Customer")] + [b.label for b in report.buckets] + [_("Unapplied credits"), _("Total")]
    rows = [[r.code, r.name, *r.buckets, -r.unapplied, r.total] for r in report.rows]
    summary = []
    if report.filters_active:
        t = report.filtered
        summary.append(["", _("Total of the rows shown"), *t.buckets, -t.unapplied, t.total])
    t = report.everything
    summary.append(["", _("Total, all customers"), *t.buckets, -t.unapplied, t.total])
    blanks = [""] * (len(report.buckets) + 1)
    summary.append(["", _("AR control account as of %(d)s") % {"d": report.as_of.isoformat()}, *blanks,
                    report.control])
    summary.append(["", _("Difference"), *blanks, report.difference])
    return header, rows, summary


def aging_csv(report) -> bytes:
    header, rows, summary = aging_table(report)
    title = [_("Aging report as of %(d)s, %(cur)s, %(basis)s") % {
        "d": report.as_of.isoformat(), "cur": report.currency, "basis": report.basis}]
    return csv_bytes([title, header, *([_plain(v, report.currency) if isinstance(v, Decimal) else v for v in row]
                                       for row in rows + summary)])


def aging_xlsx(report) -> bytes:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    header, rows, summary = aging_table(report)
    wb, ws = xlsx_workbook(_("Aging"))
    xlsx_append(ws, [_("Aging report as of %(d)s, %(cur)s") % {"d": report.as_of.isoformat(),
                                                                "cur": report.currency}])
    ws["A1"].font = Font(bold=True, size=13)
    xlsx_append(ws, header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    places = minor_units(report.currency)
    fmt = "#,##0" + ("." + "0" * places if places else "")
    for n, row in enumerate(rows + summary):
        for cell in xlsx_append(ws, row):
            if isinstance(cell.value, Decimal):
                cell.number_format = fmt
            if n >= len(rows):
                cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 36
    for col in range(3, len(header) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 15
    ws.freeze_panes = "C3"
    return xlsx_bytes(wb)


def revenue_table(report) -> list[list]:
    """Revenue by segment (reports.revenue) as rows: the header, one row per segment, the total."""
    header = [report.by, "invoiced", "credited", "net", "previous period net", "same period last year net",
              "currency"]
    return [header, *([row.label, row.invoiced, row.credited, row.net, row.previous, row.last_year, report.currency]
                      for row in [*report.rows, report.total])]


def revenue_csv(report) -> bytes:
    return csv_bytes(revenue_table(report), bom=False)


def revenue_xlsx(report) -> bytes:
    """The CSV's columns; amounts are numbers in the currency's format, the header and total bold."""
    from openpyxl.styles import Font

    header, *rows = revenue_table(report)
    wb, ws = xlsx_workbook(_("Revenue by %(by)s") % {"by": report.by})
    xlsx_append(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    places = minor_units(report.currency)
    fmt = "#,##0" + ("." + "0" * places if places else "")
    for row in rows:
        cells = xlsx_append(ws, row)
        for cell in cells:
            if isinstance(cell.value, Decimal):
                cell.number_format = fmt
    for cell in cells if rows else ws[1]:  # the total row (the last)
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 36
    ws.freeze_panes = "B2"
    return xlsx_bytes(wb)


def aging_pdf(report, org) -> bytes:
    from django.conf import settings

    from invoicing.pdf import html_to_pdf

    with translation.override(settings.LANGUAGE_CODE):
        html = render_to_string("reports/pdf/aging.html", {
            "report": report, "org": org, "rows": report.rows[:PDF_MAX_ROWS],
            "truncated": len(report.rows) > PDF_MAX_ROWS, "max_rows": PDF_MAX_ROWS,
        })
    return html_to_pdf(html)
