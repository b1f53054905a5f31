"""Statement parsers on real-shaped files (written for these tests after the published formats):
CAMT.053 with structured and unstructured remittance, a batch and another currency; OFX in its
SGML (1.x) and XML (2.x) flavours; CSV with decimal commas, thousands separators, quoted fields,
a BOM, debit/credit columns; and the bad input each must refuse with a clear message."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from invoicing.payment_reference import rf_valid
from payments.statements import (
    CsvMapping,
    StatementError,
    assign_dedupe_keys,
    csv_header,
    detect_format,
    parse,
    parse_decimal,
)

FILES = Path(__file__).parent / "statements"
D = Decimal


def read(name):
    return (FILES / name).read_bytes()


DE = CsvMapping(date_column="Buchungstag", date_format="%d.%m.%Y", amount_column="Betrag", decimal_comma=True,
                remittance_column="Verwendungszweck", counterparty_column="Auftraggeber", iban_column="IBAN",
                value_date_column="Wertstellung")


# --- CAMT.053 ----------------------------------------------------------------------------------

def test_camt053_entries_balances_references_and_parties():
    s = parse(read("camt053_basic.xml"), "camt053")
    assert (s.format, s.currency, s.account_id, s.statement_id) == ("camt053", "EUR", "DE89370400440532013000",
                                                                      "STMT-2026-03")
    assert (s.opening_balance, s.closing_balance) == (D("1000.00"), D("1325.25"))
    assert [li.amount for li in s.lines] == [D("121.00"), D("250.00"), D("-45.75")]  # the pending entry is left out
    acme, birch, fee = s.lines
    assert (acme.booking_date, acme.value_date) == (date(2026, 3, 3), date(2026, 3, 3))
    assert acme.remittance == "Invoice INV-0007 thank you"
    assert (acme.counterparty_name, acme.counterparty_iban) == ("Acme Trading GmbH", "DE44500105175407324931")
    assert (acme.end_to_end_id, acme.dedupe_key) == ("E2E-ACME-17", "id:BANKREF-0001")
    assert birch.creditor_reference == "RF18539007547034" and birch.counterparty_name == "Birch & Co"
    assert birch.end_to_end_id == ""  # NOTPROVIDED is no reference
    assert fee.remittance == "Account maintenance fee March" and fee.counterparty_name == ""


def test_camt053_batched_entry_becomes_one_line_per_transaction():
    s = parse(read("camt053_batch.xml"), "camt053")
    assert [(li.amount, li.counterparty_name, li.remittance) for li in s.lines] == [
        (D("100.00"), "Cedar Ltd", "INV-0011"), (D("200.00"), "Delta AG", "Rechnung INV-0012 und Dank")]
    assert [li.dedupe_key for li in s.lines] == ["id:BATCH-77/1", "id:BATCH-77/2"]
    assert s.lines[0].booking_date == date(2026, 4, 2)  # from BookgDt/DtTm
    assert s.opening_balance == D("1325.25")  # PRCD counts as the opening


def test_camt053_batch_whose_parts_do_not_add_up_is_refused():
    data = read("camt053_batch.xml").replace(b'<Amt Ccy="EUR">200.00</Amt></TxAmt>',
                                             b'<Amt Ccy="EUR">199.00</Amt></TxAmt>')
    with pytest.raises(StatementError, match="add up to 299.00, the entry says 300.00"):
        parse(data, "camt053")


def test_camt053_zero_entries_are_left_out():
    data = read("camt053_basic.xml").replace(b'<Amt Ccy="EUR">45.75</Amt>', b'<Amt Ccy="EUR">0.00</Amt>')
    assert [li.amount for li in parse(data, "camt053").lines] == [D("121.00"), D("250.00")]


def test_camt053_other_currency_is_read_as_such():
    s = parse(read("camt053_usd.xml"), "camt053")
    assert (s.currency, s.account_id, s.lines[0].currency, s.lines[0].amount) == ("USD", "US-7788", "USD", D("500.00"))


@pytest.mark.parametrize(("data", "message"), [
    (b"<Document><BkToCstmrStmt><Stmt>", "not well-formed XML"),
    (b"<?xml version='1.0'?><Invoice/>", "not a CAMT.053"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
     b"<Document><BkToCstmrStmt><Stmt><Id>&lol2;</Id></Stmt></BkToCstmrStmt></Document>", "declares a DTD"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
     b"<Document><BkToCstmrStmt><Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>", "declares a DTD"),
    (b"<Document><BkToCstmrStmt></BkToCstmrStmt></Document>", "holds no statement"),
])
def test_camt053_malformed_bombs_and_external_entities_are_refused_unread(data, message):
    with pytest.raises(StatementError, match=message):
        parse(data, "camt053")


def test_camt053_bad_amount_date_and_indicator_name_the_entry():
    base = read("camt053_basic.xml")
    with pytest.raises(StatementError, match="entry 1: '12x.00' is not an amount"):
        parse(base.replace(b">121.00<", b">12x.00<"), "camt053")
    with pytest.raises(StatementError, match="entry 2: '2026-13-10' is not an ISO date"):
        parse(base.replace(b"<Dt>2026-03-10</Dt></BookgDt>", b"<Dt>2026-13-10</Dt></BookgDt>"), "camt053")
    with pytest.raises(StatementError, match="CdtDbtInd must be CRDT or DBIT"):
        parse(base.replace(b"<CdtDbtInd>DBIT</CdtDbtInd><Sts>", b"<CdtDbtInd>XX</CdtDbtInd><Sts>"), "camt053")


# --- OFX ---------------------------------------------------------------------------------------

def test_ofx_sgml_flavour():
    s = parse(read("ofx_sgml.ofx"), "ofx")
    assert (s.currency, s.account_id, s.closing_balance) == ("EUR", "0532013000", D("1075.25"))
    assert [(li.booking_date, li.amount, li.counterparty_name, li.remittance, li.dedupe_key) for li in s.lines] == [
        (date(2026, 3, 3), D("121.00"), "Acme Trading GmbH", "INV-0007", "id:OFX-0001"),
        (date(2026, 3, 15), D("-45.75"), "Bank", "Account fee", "id:OFX-0002")]
    assert s.opening_balance == D("1000.00")  # the ledger balance less the lines


def test_ofx_xml_flavour_unescapes_and_finds_the_creditor_reference():
    s = parse(read("ofx_xml.ofx"), "ofx")
    assert [li.counterparty_name for li in s.lines] == ["Birch & Co", "Cedar Ltd"]
    assert s.lines[0].creditor_reference == "RF18539007547034"
    assert s.lines[0].booking_date == date(2026, 3, 10)


@pytest.mark.parametrize("data", [
    b"OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><BANKMSGSRSV1>",
    b"this is not ofx at all",
    read("ofx_sgml.ofx").replace(b"<TRNAMT>121.00", b"<TRNAMT>12,x"),
])
def test_ofx_malformed_is_refused_with_a_message(data):
    with pytest.raises(StatementError, match="OFX"):
        parse(data, "ofx")


# --- CSV ---------------------------------------------------------------------------------------

def test_csv_decimal_comma_thousands_quotes_bom_semicolons():
    data = read("csv_de.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    assert csv_header(data)[0][0] == "Buchungstag"  # the BOM is not part of the first name
    s = parse(data, "csv", DE, currency="EUR")
    assert [li.amount for li in s.lines] == [D("121.00"), D("1250.00"), D("-45.75"), D("-45.75")]
    assert s.lines[0].remittance == "Invoice INV-0007; thanks"  # a quoted delimiter stays in the field
    assert s.lines[0].counterparty_iban == "DE44500105175407324931"
    assert s.lines[1].creditor_reference == "RF18539007547034"
    assert s.lines[1].value_date == date(2026, 3, 11)
    assert all(li.currency == "EUR" for li in s.lines)
    # Two identical fee rows on one day stay two lines, with different keys.
    assert s.lines[2].dedupe_key != s.lines[3].dedupe_key
    assert s.lines[2].dedupe_key.endswith(":1") and s.lines[3].dedupe_key.endswith(":2")


def test_csv_debit_and_credit_columns():
    m = CsvMapping(date_column="Date", debit_column="Debit", credit_column="Credit", remittance_column="Description",
                   counterparty_column="Payer")
    s = parse(read("csv_debit_credit.csv"), "csv", m, currency="EUR")
    assert [(li.booking_date, li.amount) for li in s.lines] == [(date(2026, 3, 3), D("1121.50")),
                                                                (date(2026, 3, 4), D("-12.30"))]


def test_the_same_rows_give_the_same_keys_in_another_file():
    one = parse(read("csv_de.csv"), "csv", DE, currency="EUR")
    lines = read("csv_de.csv").split(b"\r\n")
    overlapping = b"\r\n".join([lines[0], lines[3], lines[4], b"16.03.2026;16.03.2026;X;;new;1,00"])
    two = parse(overlapping, "csv", DE, currency="EUR")
    assert {li.dedupe_key for li in two.lines[:2]} == {li.dedupe_key for li in one.lines[2:]}


@pytest.mark.parametrize(("raw", "comma", "value"), [
    ("1.234,56", True, "1234.56"), ("1,234.56", False, "1234.56"), ("-12.5", False, "-12.5"),
    ("12.50-", False, "-12.50"), ("(12.50)", False, "-12.50"), ("1 234,56", True, "1234.56"),
    ("1'234.56", False, "1234.56"), ("+7", False, "7"),
])
def test_parse_decimal(raw, comma, value):
    assert parse_decimal(raw, comma) == D(value)


@pytest.mark.parametrize("raw", ["", "abc", "1.2.3", "NaN", "Infinity", "1e5", "--1"])
def test_parse_decimal_refuses(raw):
    with pytest.raises(ValueError):
        parse_decimal(raw)


@pytest.mark.parametrize(("data", "mapping", "message"), [
    (b"Date,Amount\n31/03/2026,10.00\n", CsvMapping(date_column="Date", amount_column="Amount"),
     r"Row 2: '31/03/2026' is not a date in the format 2026-03-31"),
    (b"Date,Amount\n2026-03-31,ten\n", CsvMapping(date_column="Date", amount_column="Amount"),
     "Row 2: 'ten' is not an amount"),
    (b"Date,Amount,Text\n2026-03-31,10.00,=HYPERLINK(\"http://x\")\n",
     CsvMapping(date_column="Date", amount_column="Amount", remittance_column="Text"), "spreadsheet formula"),
    (b"Date,Amount\n2026-03-31,=1+2\n", CsvMapping(date_column="Date", amount_column="Amount"), "spreadsheet formula"),
    (b"Date,Amount\n2026-03-31,10\n", CsvMapping(date_column="Datum", amount_column="Amount"), "no column 'Datum'"),
    ("Datum;Betrag;Text\n31.03.2026;10,00;Müller\n".encode("cp1252"),
     CsvMapping(date_column="Datum", date_format="%d.%m.%Y", amount_column="Betrag", decimal_comma=True),
     "not valid UTF-8"),
    (b"Date,Amount\n", CsvMapping(date_column="Date", amount_column="Amount"), "no transaction rows"),
    (b"Date,Amount\n2026-03-31\n", CsvMapping(date_column="Date", amount_column="Amount"), "Row 2 has 1 column"),
    (b"Date,Amount\n2026-03-31,10\n", CsvMapping(date_column="Date"), "which CSV column holds the amount"),
])
def test_csv_bad_input_names_the_row(data, mapping, message):
    with pytest.raises(StatementError, match=message):
        parse(data, "csv", mapping, currency="EUR")


def test_csv_in_windows_1252_reads_when_the_mapping_says_so():
    data = "Datum;Betrag;Text\n31.03.2026;10,00;Müller\n".encode("cp1252")
    m = CsvMapping(date_column="Datum", date_format="%d.%m.%Y", amount_column="Betrag", decimal_comma=True,
                   remittance_column="Text", encoding="cp1252")
    assert parse(data, "csv", m, currency="EUR").lines[0].remittance == "Müller"


def test_a_bank_id_twice_in_one_file_is_refused():
    with pytest.raises(StatementError, match="OFX-0001 appears on more than one line"):
        parse(read("ofx_sgml.ofx").replace(b"OFX-0002", b"OFX-0001"), "ofx")


def test_detect_format():
    assert detect_format(read("camt053_basic.xml")) == "camt053"
    assert detect_format(read("ofx_sgml.ofx")) == "ofx"
    assert detect_format(read("ofx_xml.ofx")) == "ofx"
    assert detect_format(read("csv_de.csv"), "x.csv") == "csv"


def test_rf_check_digits():
    assert rf_valid("RF18 5390 0754 7034") and rf_valid("RF18000000000539007547034")
    assert not rf_valid("RF19539007547034") and not rf_valid("RF18") and not rf_valid("XX18539007547034")


def test_assign_dedupe_keys_prefers_the_bank_id():
    s = parse(read("camt053_basic.xml"), "camt053")
    s.lines[0].bank_reference = ""
    assign_dedupe_keys(s.lines)
    assert s.lines[0].dedupe_key.startswith("h:") and s.lines[1].dedupe_key == "id:BANKREF-0002"
