"""Bank statement parsers: CSV (with a column mapping), ISO 20022 CAMT.053 and OFX.

Each parser turns the bytes of a file into a `ParsedStatement` or raises `StatementError` with a
message for people (the row or element at fault named); they write nothing, so a refused file
changes nothing. Amounts are Decimal, signed from the account holder's side: money in is
positive.

Libraries, and why:
- CAMT.053: the standard library's ElementTree through `defusedxml` (forbid_dtd=True). A bank
  statement never needs a DTD, so any DTD is refused outright: that stops entity-expansion bombs
  and external entities before a single entity is expanded or fetched. lxml is not needed for a
  read-only walk of a few thousand elements.
- OFX: `ofxtools` (maintained, reads both OFX 1.x SGML and OFX 2.x XML, typed models with Decimal
  amounts and aware datetimes). Its tokenizer is a regular expression, not an XML parser, so it
  resolves no entity and fetches nothing.
- CSV: the standard library's csv module; the mapping (which column is what, date format,
  decimal comma, signed amount or debit/credit columns) is ours and saved per bank account.

Duplicate protection: every line gets a `dedupe_key`, the bank's own transaction id where the
format has one (CAMT AcctSvcrRef, OFX FITID, a mapped CSV id column), otherwise a hash of date,
amount, currency, references, remittance and counterparty plus the line's occurrence number among
identical lines of the same file (two identical coffees on one day stay two lines, and the same
two in an overlapping file are recognised).
"""

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from invoicing.payment_reference import rf_valid

ZERO = Decimal(0)


class StatementError(ValueError):
    """A file that cannot be imported; the message says why and where. Nothing was imported."""


@dataclass
class ParsedLine:
    booking_date: date
    amount: Decimal
    currency: str
    value_date: date | None = None
    bank_reference: str = ""  # the bank's transaction id, when the format carries one
    end_to_end_id: str = ""
    creditor_reference: str = ""
    remittance: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    dedupe_key: str = ""

    def content_hash(self) -> str:
        parts = [self.booking_date.isoformat(), f"{self.amount.normalize():f}", self.currency,
                 self.end_to_end_id, self.creditor_reference, _squash(self.remittance),
                 _squash(self.counterparty_name), self.counterparty_iban]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


@dataclass
class ParsedStatement:
    format: str
    currency: str = ""
    account_id: str = ""  # IBAN or account number the file names
    statement_id: str = ""
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    lines: list[ParsedLine] = field(default_factory=list)

    @property
    def date_from(self):
        return min((li.booking_date for li in self.lines), default=None)

    @property
    def date_to(self):
        return max((li.booking_date for li in self.lines), default=None)

    @property
    def credits(self) -> Decimal:
        return sum((li.amount for li in self.lines if li.amount > 0), ZERO)

    @property
    def debits(self) -> Decimal:
        return sum((li.amount for li in self.lines if li.amount < 0), ZERO)


def statement_to_json(statement: ParsedStatement) -> dict:
    """The parsed statement as JSON (kept on the import from the preview to the commit, so the file is
    parsed once): amounts as strings, dates ISO."""
    def line(li: ParsedLine) -> list:
        return [getattr(li, f.name) for f in _LINE_FIELDS]

    head = {k: getattr(statement, k) for k in ("format", "currency", "account_id", "statement_id",
                                                "opening_balance", "closing_balance")}
    return {"v": 1, **{k: (str(v) if isinstance(v, Decimal) else v) for k, v in head.items()},
            "lines": [[(v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, Decimal) else v)
                       for v in line(li)] for li in statement.lines]}


def statement_from_json(data: dict) -> ParsedStatement:
    def dec(v):
        return None if v is None else Decimal(v)

    lines = []
    for row in data["lines"]:
        values = dict(zip((f.name for f in _LINE_FIELDS), row, strict=True))
        values["booking_date"] = date.fromisoformat(values["booking_date"])
        values["value_date"] = date.fromisoformat(values["value_date"]) if values["value_date"] else None
        values["amount"] = Decimal(values["amount"])
        lines.append(ParsedLine(**values))
    return ParsedStatement(format=data["format"], currency=data["currency"], account_id=data["account_id"],
                           statement_id=data["statement_id"], opening_balance=dec(data["opening_balance"]),
                           closing_balance=dec(data["closing_balance"]), lines=lines)


_LINE_FIELDS = fields(ParsedLine)


def _squash(text: str) -> str:
    return " ".join((text or "").split()).upper()


def _clean_iban(text: str) -> str:
    return re.sub(r"\s+", "", text or "").upper()


def assign_dedupe_keys(lines: list[ParsedLine]) -> None:
    """The bank's id where there is one, else the content hash plus the occurrence number."""
    seen = Counter()
    for line in lines:
        if line.bank_reference:
            key = "id:" + line.bank_reference
        else:
            digest = line.content_hash()
            seen[digest] += 1
            key = f"h:{digest}:{seen[digest]}"
        line.dedupe_key = key[:100]
    ids = Counter(li.dedupe_key for li in lines if li.dedupe_key.startswith("id:"))
    twice = [k[3:] for k, n in ids.items() if n > 1]
    if twice:
        raise StatementError(f"The bank transaction id {twice[0]} appears on more than one line of this file; "
                             "the file is inconsistent.")


def detect_format(data: bytes, filename: str = "") -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    name = filename.lower()
    if head.startswith(b"OFXHEADER") or b"<OFX>" in head or name.endswith((".ofx", ".qfx")):
        return "ofx"
    if head.startswith(b"<?XML") or head.startswith(b"<DOCUMENT") or name.endswith(".xml"):
        return "camt053"
    return "csv"


def parse(data: bytes, fmt: str, mapping: "CsvMapping | None" = None, currency: str = "") -> ParsedStatement:
    """Parse a file of a known format; `currency` is the bank account's (CSV files rarely say)."""
    if fmt == "csv":
        if mapping is None:
            raise StatementError("A CSV file needs a column mapping: say which column holds the date and amount.")
        statement = parse_csv(data, mapping, currency)
    elif fmt == "camt053":
        statement = parse_camt053(data)
    elif fmt == "ofx":
        statement = parse_ofx(data)
    else:
        raise StatementError(f"Unknown statement format {fmt!r}.")
    assign_dedupe_keys(statement.lines)
    return statement


# --- Amounts and dates ---------------------------------------------------------------------------

_AMOUNT_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")


def parse_decimal(raw: str, decimal_comma: bool = False) -> Decimal:
    """'1.234,56' (decimal comma), '1,234.56', '-12.5', '12.50-', '(12.50)', '1 234,56', "1'234.56"."""
    text = (raw or "").strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("'", "")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.endswith("-"):
        negative, text = True, text[:-1]
    text = text.replace(".", "").replace(",", ".") if decimal_comma else text.replace(",", "")
    if not _AMOUNT_RE.match(text):
        raise ValueError(raw)
    try:
        value = Decimal(text)
    except InvalidOperation as e:  # pragma: no cover - the pattern admits only valid numbers
        raise ValueError(raw) from e
    return -value if negative else value


def _money(value: Decimal) -> Decimal:
    if not value.is_finite() or abs(value) >= Decimal(10) ** 15:
        raise ValueError(str(value))
    if value.as_tuple().exponent < -3:
        raise ValueError(str(value))
    return value


# --- CSV -----------------------------------------------------------------------------------------

DATE_FORMATS = {
    "%Y-%m-%d": "2026-03-31",
    "%d.%m.%Y": "31.03.2026",
    "%d/%m/%Y": "31/03/2026",
    "%m/%d/%Y": "03/31/2026",
    "%d-%m-%Y": "31-03-2026",
    "%Y%m%d": "20260331",
    "%d.%m.%y": "31.03.26",
}
ENCODINGS = {"utf-8": "UTF-8", "cp1252": "Windows-1252 (Western European)", "latin-1": "ISO-8859-1"}
_FORMULA_RE = re.compile(r"^(=|@|[+\-]\s*[A-Za-z_][A-Za-z0-9_.]*\s*\()")


@dataclass
class CsvMapping:
    date_column: str = ""
    date_format: str = "%Y-%m-%d"
    amount_column: str = ""  # a signed amount; or debit and credit columns
    debit_column: str = ""
    credit_column: str = ""
    decimal_comma: bool = False
    delimiter: str = ""  # "" = detect among , ; tab |
    encoding: str = "utf-8"
    value_date_column: str = ""
    reference_column: str = ""
    remittance_column: str = ""
    counterparty_column: str = ""
    iban_column: str = ""
    id_column: str = ""
    currency_column: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "CsvMapping":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        if not self.date_column:
            raise StatementError("Say which CSV column holds the booking date.")
        if not self.amount_column and not (self.debit_column or self.credit_column):
            raise StatementError("Say which CSV column holds the amount (signed), or the debit and credit columns.")
        if self.amount_column and (self.debit_column or self.credit_column):
            raise StatementError("Map either one signed amount column or debit/credit columns, not both.")
        if self.date_format not in DATE_FORMATS:
            raise StatementError(f"Unknown date format {self.date_format!r}.")
        if self.encoding not in ENCODINGS:
            raise StatementError(f"Unknown encoding {self.encoding!r}.")
        if self.delimiter not in ("", ",", ";", "\t", "|"):
            raise StatementError("The delimiter must be a comma, semicolon, tab or vertical bar.")


def csv_text(data: bytes, encoding: str = "utf-8") -> str:
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as e:
        raise StatementError(
            f"The file is not valid {ENCODINGS.get(encoding, encoding)} (byte {e.start + 1} cannot be read). "
            "Choose the file's encoding in the mapping (banks often export Windows-1252), or save it as UTF-8."
        ) from e
    if "\x00" in text:
        raise StatementError("The file contains NUL bytes: it is not a text (CSV) file.")
    return text


def csv_header(data: bytes, mapping: CsvMapping | None = None) -> tuple[list[str], str]:
    """The header row's column names and the delimiter, for the mapping form."""
    mapping = mapping or CsvMapping()
    text = csv_text(data, mapping.encoding)
    delimiter = mapping.delimiter or _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for row in reader:
        if any(cell.strip() for cell in row):
            return [c.strip() for c in row], delimiter
    raise StatementError("The file is empty.")


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (";", "\t", "|", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(data: bytes, mapping: CsvMapping, currency: str = "") -> ParsedStatement:
    mapping.check()
    header, delimiter = csv_header(data, mapping)
    text = csv_text(data, mapping.encoding)
    wanted = {name: getattr(mapping, name) for name in (
        "date_column", "amount_column", "debit_column", "credit_column", "value_date_column", "reference_column",
        "remittance_column", "counterparty_column", "iban_column", "id_column", "currency_column")
        if getattr(mapping, name)}
    index = {}
    for name, column in wanted.items():
        if column not in header:
            raise StatementError(f"The file has no column {column!r} (its columns: {', '.join(header)}).")
        index[name] = header.index(column)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    statement = ParsedStatement(format="csv", currency=currency)
    header_seen = False
    for row_no, row in enumerate(reader, start=1):
        if not any(cell.strip() for cell in row):
            continue
        if not header_seen:
            header_seen = True
            continue
        line = _csv_line(row, row_no, index, mapping, currency)
        if line is not None:
            statement.lines.append(line)
    if not statement.lines:
        raise StatementError("The file has a header but no transaction rows.")
    return statement


def _csv_line(row, row_no, index, mapping: CsvMapping, currency: str) -> ParsedLine | None:
    def cell(name):
        i = index.get(name)
        if i is None:
            return ""
        if i >= len(row):
            raise StatementError(f"Row {row_no} has {len(row)} column(s); the mapping needs column {i + 1}.")
        value = row[i].strip()
        if _FORMULA_RE.match(value):
            raise StatementError(f"Row {row_no}: the cell {value[:30]!r} is a spreadsheet formula. "
                                 "Export the statement with values, not formulas.")
        return value

    def amount(name):
        raw = cell(name)
        if not raw:
            return None
        try:
            return _money(parse_decimal(raw, mapping.decimal_comma))
        except ValueError:
            sep = "decimal comma" if mapping.decimal_comma else "decimal point"
            raise StatementError(f"Row {row_no}: {raw!r} is not an amount (the mapping expects a {sep}).") from None

    def day(name, required=True):
        raw = cell(name)
        if not raw and not required:
            return None
        try:
            return datetime.strptime(raw, mapping.date_format).date()
        except ValueError:
            raise StatementError(f"Row {row_no}: {raw!r} is not a date in the format "
                                 f"{DATE_FORMATS[mapping.date_format]}.") from None

    booking = day("date_column")
    if mapping.amount_column:
        value = amount("amount_column")
        if value is None:
            raise StatementError(f"Row {row_no} has no amount.")
    else:
        debit, credit = amount("debit_column"), amount("credit_column")
        if debit is None and credit is None:
            raise StatementError(f"Row {row_no} has neither a debit nor a credit amount.")
        value = (credit or ZERO) - abs(debit or ZERO)
    if value == 0:
        return None  # a zero line (a bank's info row) moves no money
    line_currency = (cell("currency_column") or currency).upper()
    return ParsedLine(
        booking_date=booking, amount=value, currency=line_currency,
        value_date=day("value_date_column", required=False) if mapping.value_date_column else None,
        bank_reference=cell("id_column")[:100], end_to_end_id="",
        creditor_reference=_creditor_ref(f'{cell("reference_column")} {cell("remittance_column")}'),
        remittance=" ".join(t for t in (cell("reference_column"), cell("remittance_column")) if t)[:500],
        counterparty_name=cell("counterparty_column")[:200], counterparty_iban=_clean_iban(cell("iban_column"))[:40],
    )


_RF_RE = re.compile(r"\bRF\d{2}(?: ?[A-Z0-9]){1,21}\b")


def _creditor_ref(text: str) -> str:
    """An ISO 11649 creditor reference (RF + check digits + up to 21 characters) in free text."""
    for found in _RF_RE.finditer((text or "").upper()):
        ref = found.group(0).replace(" ", "")
        # The greedy pattern may run into the next word: the longest prefix whose check digits hold.
        for end in range(len(ref), 4, -1):
            if rf_valid(ref[:end]):
                return ref[:end]
    return ""


# --- CAMT.053 ------------------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el, *path):
    """The first child named path[0], then its first child named path[1], ... (tags are local names:
    parse_camt053 strips the namespace once, so the C implementation's find does the looking)."""
    for name in path:
        if el is None:
            return None
        el = el.find(name)
    return el


def _children(el, name):
    return [] if el is None else el.findall(name)


def _text(el, *path) -> str:
    found = _child(el, *path)
    return (found.text or "").strip() if found is not None else ""


def _camt_date(el, where) -> date | None:
    if el is None:
        return None
    raw = _text(el, "Dt") or _text(el, "DtTm")[:10]
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise StatementError(f"{where}: {raw!r} is not an ISO date.") from None


def _camt_amount(el, where) -> tuple[Decimal, str]:
    if el is None or not (el.text or "").strip():
        raise StatementError(f"{where} has no amount.")
    try:
        value = _money(Decimal(el.text.strip()))
    except (InvalidOperation, ValueError):
        raise StatementError(f"{where}: {el.text.strip()!r} is not an amount.") from None
    currency = (el.get("Ccy") or "").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementError(f"{where}: the amount has no currency (Ccy).")
    return value, currency


def _signed(value: Decimal, indicator: str, where: str) -> Decimal:
    if indicator == "CRDT":
        return value
    if indicator == "DBIT":
        return -value
    raise StatementError(f"{where}: CdtDbtInd must be CRDT or DBIT, not {indicator!r}.")


def parse_camt053(data: bytes) -> ParsedStatement:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise StatementError("The XML file declares a DTD or entities; a bank statement has none, so it is "
                             "refused unread (this is how XML bombs and external entities are stopped).") from None
    except SafeET.ParseError as e:
        raise StatementError(f"The file is not well-formed XML ({e}).") from None
    # Versions .001.02 to .001.08 differ in their namespace only: read by local names.
    for el in root.iter():
        if "}" in el.tag:
            el.tag = el.tag.rpartition("}")[2]
    if _local(root.tag) != "Document" or _child(root, "BkToCstmrStmt") is None:
        raise StatementError("This XML file is not a CAMT.053 bank-to-customer statement (no BkToCstmrStmt).")
    statements = _children(_child(root, "BkToCstmrStmt"), "Stmt")
    if not statements:
        raise StatementError("The CAMT.053 file holds no statement (Stmt).")
    accounts = {(_text(s, "Acct", "Id", "IBAN") or _text(s, "Acct", "Id", "Othr", "Id")) for s in statements}
    if len(accounts) > 1:
        raise StatementError("The file holds statements of several accounts; import each account's file separately.")
    result = ParsedStatement(format="camt053", account_id=_clean_iban(accounts.pop()))
    for n, stmt in enumerate(statements, start=1):
        _camt_statement(stmt, n, result)
    return result


def _camt_statement(stmt, n, result: ParsedStatement) -> None:
    where = f"Statement {n}"
    result.statement_id = result.statement_id or _text(stmt, "Id")[:100]
    currency = _text(stmt, "Acct", "Ccy").upper()
    if currency:
        if result.currency and result.currency != currency:
            raise StatementError(f"{where} is in {currency}, an earlier one in {result.currency}.")
        result.currency = currency
    for bal in _children(stmt, "Bal"):
        code = _text(bal, "Tp", "CdOrPrtry", "Cd")
        if code not in ("OPBD", "PRCD", "CLBD"):
            continue
        value, ccy = _camt_amount(_child(bal, "Amt"), f"{where}, balance {code}")
        value = _signed(value, _text(bal, "CdtDbtInd"), f"{where}, balance {code}")
        if code in ("OPBD", "PRCD") and result.opening_balance is None:
            result.opening_balance = value
        elif code == "CLBD":
            result.closing_balance = value  # the last statement's closing balance wins
        result.currency = result.currency or ccy
    for m, ntry in enumerate(_children(stmt, "Ntry"), start=1):
        result.lines.extend(_camt_entry(ntry, f"{where}, entry {m}"))


def _camt_entry(ntry, where) -> list[ParsedLine]:
    status = _text(ntry, "Sts") or _text(ntry, "Sts", "Cd")
    if status and status not in ("BOOK",):
        return []  # pending or informational entries are not yet on the account
    value, currency = _camt_amount(_child(ntry, "Amt"), where)
    if value == 0:
        return []  # a zero entry (an information line) moves no money
    indicator = _text(ntry, "CdtDbtInd")
    amount = _signed(value, indicator, where)
    booking = _camt_date(_child(ntry, "BookgDt"), where)
    if booking is None:
        raise StatementError(f"{where} has no booking date (BookgDt).")
    value_date = _camt_date(_child(ntry, "ValDt"), where)
    entry_ref = _text(ntry, "AcctSvcrRef")
    info = _text(ntry, "AddtlNtryInf")
    details = [tx for d in _children(ntry, "NtryDtls") for tx in _children(d, "TxDtls")]
    base = {"booking_date": booking, "value_date": value_date, "currency": currency}
    if len(details) <= 1:
        parts = _camt_tx(details[0] if details else None, indicator)
        if not parts.get("remittance"):
            parts["remittance"] = info[:500]
        parts["bank_reference"] = (entry_ref or parts.pop("tx_ref", ""))[:100]
        parts.pop("tx_ref", None)
        return [ParsedLine(amount=amount, **base, **parts)]
    # A batch: one line per transaction when each carries its amount and they add up to the entry.
    lines, total = [], ZERO
    for k, tx in enumerate(details, start=1):
        amt_el = _child(tx, "AmtDtls", "TxAmt", "Amt")
        if amt_el is None:
            amt_el = _child(tx, "Amt")
        if amt_el is None:
            return [ParsedLine(amount=amount, remittance=info[:500], bank_reference=entry_ref[:100], **base)]
        tx_value, tx_ccy = _camt_amount(amt_el, f"{where}, transaction {k}")
        if tx_ccy != currency:
            return [ParsedLine(amount=amount, remittance=info[:500], bank_reference=entry_ref[:100], **base)]
        tx_indicator = _text(tx, "CdtDbtInd") or indicator
        parts = _camt_tx(tx, tx_indicator)
        tx_ref = parts.pop("tx_ref", "")
        parts["bank_reference"] = (f"{entry_ref}/{k}" if entry_ref else tx_ref)[:100]
        line = ParsedLine(amount=_signed(tx_value, tx_indicator, where), **base, **parts)
        total += line.amount
        if line.amount:
            lines.append(line)
    if total != amount:
        raise StatementError(f"{where}: its {len(details)} transactions add up to {total}, the entry says {amount}.")
    return lines


def _camt_tx(tx, indicator) -> dict:
    if tx is None:
        return {}
    party = "Dbtr" if indicator == "CRDT" else "Cdtr"
    parties = _child(tx, "RltdPties")
    name = _text(parties, party, "Nm") or _text(parties, party, "Pty", "Nm")
    iban = _text(parties, f"{party}Acct", "Id", "IBAN")
    rmt = _child(tx, "RmtInf")
    unstructured = " ".join(_text(u) for u in _children(rmt, "Ustrd") if _text(u))
    structured = ""
    for strd in _children(rmt, "Strd"):
        structured = structured or _text(strd, "CdtrRefInf", "Ref")
    end_to_end = _text(tx, "Refs", "EndToEndId")
    if end_to_end.upper() == "NOTPROVIDED":
        end_to_end = ""
    return {
        "counterparty_name": name[:200], "counterparty_iban": _clean_iban(iban)[:40],
        "remittance": unstructured[:500], "creditor_reference": structured.replace(" ", "").upper()[:40],
        "end_to_end_id": end_to_end[:100], "tx_ref": _text(tx, "Refs", "AcctSvcrRef"),
    }


# --- OFX -----------------------------------------------------------------------------------------

def parse_ofx(data: bytes) -> ParsedStatement:
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data))
        ofx = tree.convert()
    except Exception as e:  # ofxtools raises many kinds (ParseError, ValueError, KeyError, OFXHeaderError ...)
        message = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise StatementError(f"This OFX file could not be read: {message}") from None
    statements = list(getattr(ofx, "statements", []) or [])
    if not statements:
        raise StatementError("The OFX file holds no bank statement (STMTRS).")
    if len(statements) > 1:
        raise StatementError("The OFX file holds statements of several accounts; export one account per file.")
    stmt = statements[0]
    result = ParsedStatement(format="ofx", currency=(stmt.curdef or "").upper(),
                             account_id=_clean_iban(getattr(stmt.account, "acctid", "") or ""))
    ledger = getattr(stmt, "ledgerbal", None)
    if ledger is not None and ledger.balamt is not None:
        result.closing_balance = ledger.balamt
    for n, trn in enumerate(stmt.banktranlist or [], start=1):
        amount = trn.trnamt
        if amount is None or amount == 0:
            continue
        try:
            _money(amount)
        except ValueError:
            raise StatementError(f"Transaction {n}: {amount} is not an amount.") from None
        currency = result.currency
        if getattr(trn, "currency", None) is not None and trn.currency.cursym:
            currency = trn.currency.cursym.upper()
        name = trn.name or (trn.payee.name if getattr(trn, "payee", None) is not None else "") or ""
        memo = " ".join(t for t in (trn.memo, trn.refnum, trn.checknum and f"check {trn.checknum}") if t)
        result.lines.append(ParsedLine(
            booking_date=trn.dtposted.date(), amount=amount, currency=currency,
            value_date=trn.dtuser.date() if trn.dtuser else None, bank_reference=(trn.fitid or "")[:100],
            remittance=memo[:500], counterparty_name=name[:200], creditor_reference=_creditor_ref(memo),
        ))
    if result.closing_balance is not None and result.lines:
        # OFX carries only the ledger balance; the opening follows when the list covers the statement.
        result.opening_balance = result.closing_balance - sum((li.amount for li in result.lines), ZERO)
    return result
