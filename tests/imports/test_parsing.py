"""The file reader and the number and date rules."""

import codecs
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.imports.parsing import (
    DateColumn,
    ImportFileError,
    NumberColumn,
    ParseError,
    open_table,
    parse_date,
    parse_number,
)
from tests.imports.helpers import xlsx_bytes


def rows(table):
    return [cells for _n, cells in table.rows()]


def test_it_reads_utf8_with_bom_semicolons_quotes_and_crlf():
    data = codecs.BOM_UTF8 + "code;name\r\n0042;\"Müller; Söhne\"\r\n".encode()
    table = open_table(data)
    assert table.headers == ["code", "name"] and table.delimiter == ";"
    assert rows(table) == [["0042", "Müller; Söhne"]]


def test_it_detects_windows_1252():
    table = open_table("code,name\n7,Café “Zoë”\n".encode("cp1252"))
    assert table.encoding == "cp1252"
    assert rows(table) == [["7", "Café “Zoë”"]]


def test_it_reads_tabs_and_a_chosen_encoding():
    table = open_table("a\tb\n1\t2\n".encode("latin-1"), encoding="latin-1")
    assert table.delimiter == "\t" and rows(table) == [["1", "2"]]


def test_it_reads_xlsx_keeping_leading_zeros_and_dates():
    data = xlsx_bytes([["code", "day", "amount"], ["0042", date(2013, 3, 1), 1234.5]])
    table = open_table(data, "f.xlsx")
    assert rows(table) == [["0042", "2013-03-01", "1234.5"]]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\nxxxx", "PNG image"),
    (b"abc\x00def", "binary"),
    (b"   \n", "empty"),
])
def test_it_refuses_what_is_not_a_table(data, message):
    with pytest.raises(ImportFileError, match=message):
        open_table(data)


def test_it_refuses_a_file_above_the_limit(settings):
    settings.IMPORT_MAX_BYTES = 100
    with pytest.raises(ImportFileError, match="limit is"):
        open_table(b"a,b\n" + b"1,2\n" * 50)


def test_it_refuses_a_zip_bomb_dressed_as_xlsx(settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 1_000_000
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", b"<x/>")
        z.writestr("xl/worksheets/sheet1.xml", b"0" * 5_000_000)
    with pytest.raises(ImportFileError, match="unpacks to"):
        open_table(out.getvalue(), "bomb.xlsx")


def test_it_refuses_a_header_with_a_repeated_name():
    with pytest.raises(ImportFileError, match="appears twice"):
        open_table(b"a,A\n1,2\n")


@pytest.mark.parametrize(("raw", "sep", "value"), [
    ("1,234.5", ".", "1234.5"), ("1.234,50", ",", "1234.50"), ("(12.00)", ".", "-12.00"), ("12-", ".", "-12"),
    ("-0,5", ",", "-0.5"), ("€ 1 234,50", ",", "1234.50"), ("1,234,567.89", ".", "1234567.89"),
    ("USD 10", ".", "10"), ("0042", ".", "42"),
])
def test_it_reads_numbers(raw, sep, value):
    assert parse_number(raw, sep) == Decimal(value)


@pytest.mark.parametrize("raw", ["abc", "1,23,4.5", "1.2.3", "", "--", "1e5"])
def test_it_refuses_what_is_not_a_number(raw):
    with pytest.raises(ParseError):
        parse_number(raw, ".")


def test_a_column_of_1_234_only_is_ambiguous_until_chosen():
    column = NumberColumn()
    for raw in ("1,234", "2,500"):
        column.see(raw)
    assert column.decided()[0] is None and "choose the decimal separator" in column.decided()[1]
    column = NumberColumn()
    for raw in ("1,234", "2,5"):
        column.see(raw)
    assert column.decided() == (",", "")


def test_a_column_mixing_both_styles_is_refused():
    column = NumberColumn()
    for raw in ("1,234.50", "1.234,50"):
        column.see(raw)
    assert column.decided()[0] is None


@pytest.mark.parametrize(("values", "fmt"), [
    (["3/13/2013", "3/1/2013"], "%m/%d/%Y"), (["13/3/2013", "1/3/2013"], "%d/%m/%Y"),
    (["01.03.2013"], "%d.%m.%Y"), (["2013-03-01"], "%Y-%m-%d"), (["1-Mar-13", "20-Dec-13"], "%d-%b-%y"),
])
def test_the_date_format_is_decided_by_the_whole_column(values, fmt):
    column = DateColumn()
    for v in values:
        column.see(v)
    assert column.decided() == (fmt, "")


def test_an_ambiguous_date_column_is_reported_not_guessed():
    column = DateColumn()
    for v in ("3/1/2013", "4/2/2013"):
        column.see(v)
    decided, why = column.decided()
    assert decided is None and "3/1/2013" in why and "day first" in why and "month first" in why


money = st.decimals(min_value=Decimal("-999999999.99"), max_value=Decimal("999999999.99"), places=2,
                    allow_nan=False, allow_infinity=False)


@given(money, st.sampled_from(["us", "eu", "paren", "trailing"]))
def test_any_amount_written_in_any_style_reads_back_exactly(amount, style):
    plain = f"{abs(amount):,.2f}"
    if style == "eu":
        plain = plain.replace(",", "X").replace(".", ",").replace("X", ".")
    sep = "," if style == "eu" else "."
    if amount < 0:
        plain = f"({plain})" if style == "paren" else (f"{plain}-" if style == "trailing" else f"-{plain}")
    assert parse_number(plain, sep) == amount


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)),
       st.sampled_from(["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%b-%Y"]))
def test_any_date_reads_back_in_its_format(day, fmt):
    assert parse_date(day.strftime(fmt), fmt) == day


def test_a_value_that_is_no_date_at_all_leaves_the_column_format_to_the_others():
    column = DateColumn()
    for v in ("13.01.2025", "31.02.2025", "soon", "01.02.2025"):
        column.see(v)
    assert column.decided() == ("%d.%m.%Y", "")
    column = DateColumn()
    for v in ("2025-01-13", "13.01.2025"):
        column.see(v)
    assert column.decided()[0] is None and "more than one form" in column.decided()[1]
