"""France's Fichier des Écritures Comptables (FEC, LPF article A47 A-1) for a period, and a checker
of its published rules.

The FEC is the statutory audit file a French tax inspector asks for: every journal line of a
fiscal period in 18 fixed columns. Layout and the choices made here: docs/journal_export.md.

- Entries in the order they were validated (the journal's sequence), each journal code numbered
  on its own continuous sequence (EcritureNum); PieceRef is the document number.
- The period opens with an "à nouveaux" entry (journal AN): the balance of every balance-sheet
  account the day before the period, and the earlier years' income and expense net as one
  retained-earnings line, so that the file alone gives every closing balance.
- Amounts in the base currency, decimal comma, no grouping; a period with lines in another
  currency is refused until lines carry their base-currency value.
- ISO 8859-15 text (one of the encodings the rule allows), tab separated; characters the encoding
  lacks become their closest ASCII form, and a tab or line break inside a text becomes a space.
"""

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection

from accounts import ledger
from accounts.models import AccountType
from accounts.money import quantum
from reports.journal_export import ExportError, check_period

FIELDS = ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
          "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
          "ValidDate", "Montantdevise", "Idevise"]
ENCODING = "iso8859_15"
SEPARATOR = "\t"
OPENING_JOURNAL = ("AN", "A nouveaux")
# The earlier years' result, carried in the opening entry (PCG 110 "Report à nouveau").
RETAINED_EARNINGS = ("110", "Report a nouveau")
BALANCE_SHEET = {AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY}


def journal_of(source_type: str) -> tuple[str, str]:
    """The FEC journal an entry belongs to, by what posted it."""
    if source_type.startswith("invoicing."):
        return "VE", "Ventes"
    if source_type.startswith("payments."):
        return "BQ", "Banque"
    return "OD", "Operations diverses"


_LINES_SQL = """
SELECT e.seq, e.effective_date, e.posted_at, e.source_type, e.source_label, e.memo,
       a.code, a.name, coalesce(c.code, ''), coalesce(c.name, ''), l.amount, l.currency
FROM accounts_journalline l
JOIN accounts_journalentry e ON e.id = l.entry_id
JOIN accounts_account a ON a.id = l.account_id
LEFT JOIN accounts_customer c ON c.id = l.customer_id
WHERE l.organization_id = %(org)s AND e.organization_id = %(org)s
  AND e.effective_date BETWEEN %(start)s AND %(end)s
ORDER BY e.seq, l.line_no
"""
# Opening balances of the AR control per customer, for the auxiliary accounts of the AN entry.
_OPENING_CUSTOMERS_SQL = """
SELECT a.code, coalesce(c.code, ''), coalesce(c.name, ''), l.currency, sum(l.amount)
FROM accounts_journalline l
JOIN accounts_account a ON a.id = l.account_id
LEFT JOIN accounts_customer c ON c.id = l.customer_id
WHERE l.organization_id = %(org)s AND l.effective_date < %(start)s AND l.customer_id IS NOT NULL
GROUP BY a.code, c.code, c.name, l.currency
HAVING sum(l.amount) <> 0
"""


@dataclass(frozen=True)
class FecLine:
    journal: tuple[str, str]
    entry_key: int  # lines of one entry share it
    entry_date: date
    valid_date: date
    account: tuple[str, str]
    aux: tuple[str, str]
    piece: str
    label: str
    amount: Decimal  # debit positive


def text(value: str) -> str:
    """One FEC text cell: no separator or line break inside, only what ISO 8859-15 can carry (a
    character it lacks becomes its base letter where it has one, else "?")."""
    return "".join(_encodable(ch) for ch in " ".join(str(value).split()))


_PUNCTUATION = {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                "\u2026": "..."}


def _encodable(ch: str) -> str:
    if ch.encode(ENCODING, errors="ignore"):
        return ch
    if ch in _PUNCTUATION:
        return _PUNCTUATION[ch]
    base = "".join(part for part in unicodedata.normalize("NFKD", ch)
                   if not unicodedata.combining(part) and part.encode(ENCODING, errors="ignore"))
    return base or "?"


def amount_text(value: Decimal, currency: str) -> str:
    return str(value.quantize(quantum(currency))).replace(".", ",")


def _opening_lines(org, start: date) -> list[FecLine]:
    """The AN entry: balance-sheet accounts as of the day before, AR split per customer."""
    day_before = start - timedelta(days=1)
    lines, result = [], Decimal(0)
    per_customer: dict[str, list] = {}
    with connection.cursor() as cursor:
        cursor.execute(_OPENING_CUSTOMERS_SQL, {"org": org.pk, "start": start})
        for code, cust_code, cust_name, _currency, amount in cursor.fetchall():
            per_customer.setdefault(code, []).append((cust_code, cust_name, amount))
    for row in ledger.trial_balance(org, as_of=day_before):
        if row.currency != org.base_currency:
            raise ExportError(f"Balances brought forward include {row.currency}; the FEC is kept in the base "
                              f"currency ({org.base_currency}). Use the CSV or XLSX export.")
        net = row.debit - row.credit
        if row.account.type not in BALANCE_SHEET:
            result += net
            continue
        account = (row.account.code, row.account.name)
        split = per_customer.get(row.account.code)
        if split:
            rest = net - sum(a for _c, _n, a in split)
            for cust_code, cust_name, value in split:
                lines.append(FecLine(OPENING_JOURNAL, 0, start, start, account, (cust_code, cust_name),
                                     "AN", "A nouveaux", value))
            if rest:
                lines.append(FecLine(OPENING_JOURNAL, 0, start, start, account, ("", ""), "AN", "A nouveaux",
                                     rest))
        else:
            lines.append(FecLine(OPENING_JOURNAL, 0, start, start, account, ("", ""), "AN", "A nouveaux", net))
    if result:
        lines.append(FecLine(OPENING_JOURNAL, 0, start, start, RETAINED_EARNINGS, ("", ""), "AN",
                             "A nouveaux (resultat anterieur)", result))
    return [line for line in lines if line.amount]


def fec_lines(org, start: date, end: date) -> list[FecLine]:
    check_period(start, end)
    with connection.cursor() as cursor:
        cursor.execute(_LINES_SQL, {"org": org.pk, "start": start, "end": end})
        rows = cursor.fetchall()
    foreign = sorted({row[11] for row in rows if row[11] != org.base_currency})
    if foreign:
        raise ExportError(f"The period has lines in {', '.join(foreign)}; the FEC is kept in the base currency "
                          f"({org.base_currency}). Use the CSV or XLSX export.")
    lines = []
    for seq, effective, posted_at, source_type, label, memo, code, name, cust_code, cust_name, amount, _c in rows:
        posted = org.today(posted_at)  # the day it was validated, on the organization's calendar
        lines.append(FecLine(journal_of(source_type), seq, effective, max(posted, effective), (code, name),
                             (cust_code, cust_name), label or f"#{seq}", memo or label or f"#{seq}", amount))
    # In the order of validation (a stable sort keeps each entry's lines together and in order).
    lines.sort(key=lambda line: (line.valid_date, line.entry_key))
    return _opening_lines(org, start) + lines


def render_fec(org, start: date, end: date) -> tuple[bytes, str]:
    """(content, file name `<SIREN>FEC<closing date>.txt`)."""
    lines = fec_lines(org, start, end)
    currency = org.base_currency
    numbers: dict[str, int] = {}
    entry_numbers: dict[tuple[str, int], str] = {}
    out = [SEPARATOR.join(FIELDS)]
    for line in lines:
        code, lib = line.journal
        key = (code, line.entry_key)
        if key not in entry_numbers:
            numbers[code] = numbers.get(code, 0) + 1
            entry_numbers[key] = f"{code}{numbers[code]:06d}"
        debit = line.amount if line.amount > 0 else Decimal(0)
        credit = -line.amount if line.amount < 0 else Decimal(0)
        cells = [code, text(lib), entry_numbers[key], line.entry_date.strftime("%Y%m%d"), text(line.account[0]),
                 text(line.account[1]), text(line.aux[0]), text(line.aux[1]), text(line.piece),
                 line.entry_date.strftime("%Y%m%d"), text(line.label), amount_text(debit, currency),
                 amount_text(credit, currency), "", "", line.valid_date.strftime("%Y%m%d"), "", ""]
        out.append(SEPARATOR.join(cells))
    content = ("\r\n".join(out) + "\r\n").encode(ENCODING)
    return content, f"{siren(org)}FEC{end.strftime('%Y%m%d')}.txt"


def siren(org) -> str:
    """The SIREN the file name starts with: from a French VAT number (FR + 2 key digits + SIREN)
    or a 9-digit tax id; otherwise the organization's slug, so the file is still named."""
    digits = "".join(ch for ch in (org.tax_id or "") if ch.isdigit())
    if (org.tax_id or "").upper().startswith("FR") and len(digits) == 11:
        return digits[2:]
    if len(digits) in (9, 14):  # SIREN, or SIRET whose first nine digits are the SIREN
        return digits[:9]
    return org.slug


# --- the checker ---------------------------------------------------------------------------


def _is_date(value: str) -> bool:
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return False
    return len(value) == 8 and value.isdigit()


def _is_amount(value: str) -> bool:
    whole, _sep, frac = value.partition(",")
    return whole.isdigit() and (frac == "" or frac.isdigit()) and "." not in value


def check_fec(content: bytes, start: date | None = None, end: date | None = None) -> list[str]:
    """The problems a file has against the FEC's published rules (empty: it conforms). Checked:
    the encoding, the 18 named columns in order with one separator, the mandatory cells, dates as
    AAAAMMJJ (entry dates inside the period when given), amounts with a decimal comma, debit or
    credit on each line, account numbers starting with three digits, auxiliary number and name
    together, each entry balanced, EcritureNum continuous per journal, and entries in the order of
    their validation dates."""
    problems: list[str] = []
    text_ = content.decode(ENCODING)  # every byte is a character of ISO 8859-15 ...
    if any((ord(ch) < 32 and ch not in "\t\r\n") or 0x7F <= ord(ch) <= 0x9F for ch in text_):
        return ["The file is not ISO 8859-15 text."]  # ... but control characters mean another encoding
    rows = text_.split("\r\n")
    if rows and rows[-1] == "":
        rows.pop()
    if not rows:
        return ["The file is empty."]
    separator = "\t" if "\t" in rows[0] else "|"
    header = rows[0].split(separator)
    if header != FIELDS:
        problems.append(f"Line 1: the columns must be {'|'.join(FIELDS)}.")
        return problems
    mandatory = [f for f in FIELDS if f not in ("CompAuxNum", "CompAuxLib", "EcritureLet", "DateLet",
                                                 "Montantdevise", "Idevise")]
    balances: dict[str, Decimal] = {}
    last_number: dict[str, int] = {}
    seen_entries: set[str] = set()
    last_valid = ""
    for n, raw in enumerate(rows[1:], start=2):
        cells = raw.split(separator)
        if len(cells) != len(FIELDS):
            problems.append(f"Line {n}: {len(cells)} cells, not {len(FIELDS)}.")
            continue
        row = dict(zip(FIELDS, cells, strict=True))
        for name in mandatory:
            if not row[name].strip():
                problems.append(f"Line {n}: {name} is empty.")
        for name in ("EcritureDate", "PieceDate", "ValidDate"):
            if row[name] and not _is_date(row[name]):
                problems.append(f"Line {n}: {name} {row[name]!r} is not a date AAAAMMJJ.")
        inside = start is None or end is None or not _is_date(row["EcritureDate"]) or (
            start.strftime("%Y%m%d") <= row["EcritureDate"] <= end.strftime("%Y%m%d"))
        if not inside:
            problems.append(f"Line {n}: EcritureDate {row['EcritureDate']} is outside the period.")
        if not (row["CompteNum"][:3].isdigit() and len(row["CompteNum"]) >= 3):
            problems.append(f"Line {n}: CompteNum {row['CompteNum']!r} must start with three digits.")
        if bool(row["CompAuxNum"]) != bool(row["CompAuxLib"]):
            problems.append(f"Line {n}: CompAuxNum and CompAuxLib go together.")
        if not (_is_amount(row["Debit"]) and _is_amount(row["Credit"])):
            problems.append(f"Line {n}: Debit and Credit are unsigned numbers with a decimal comma.")
            continue
        debit, credit = Decimal(row["Debit"].replace(",", ".")), Decimal(row["Credit"].replace(",", "."))
        if (debit == 0) == (credit == 0):
            problems.append(f"Line {n}: one of Debit and Credit, not both or neither.")
        entry = row["EcritureNum"]
        balances[entry] = balances.get(entry, Decimal(0)) + debit - credit
        if entry not in seen_entries:
            seen_entries.add(entry)
            journal, digits = row["JournalCode"], entry[len(row["JournalCode"]):]
            if not (entry.startswith(journal) and digits.isdigit()):
                problems.append(f"Line {n}: EcritureNum {entry!r} is not numbered within journal {journal}.")
            elif int(digits) != last_number.get(journal, 0) + 1:
                problems.append(f"Line {n}: EcritureNum {entry} breaks journal {journal}'s sequence.")
            else:
                last_number[journal] = int(digits)
            if row["ValidDate"] < last_valid:
                problems.append(f"Line {n}: entry {entry} is validated before the entry above it.")
            last_valid = max(last_valid, row["ValidDate"])
    for entry, balance in balances.items():
        if balance:
            problems.append(f"Entry {entry} does not balance (debit - credit = {balance}).")
    return problems
