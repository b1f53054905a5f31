"""The auditor pack: one ZIP with everything an auditor asks for about a period, in the layout of
docs/journal_export.md ("Auditor pack").

    README.txt            what is inside, the period, the chain head, the verification verdict
    journal.csv/.xlsx     the journal export of the period (reports.journal_export)
    trial_balance.csv     per account and currency: opening, period debit and credit, closing
    ar_tieout.csv         per currency: aging total = AR control = sum of customer balances
    fec/<SIREN>FEC<date>.txt  France's FEC (reports.fec), checked against its rules
    documents/*.pdf       every invoice and credit note issued in the period, as stored
    documents/MANIFEST.sha256  `sha256sum -c` checks the PDFs
    verification.txt      a full verify_ledger run made for the pack, with its figures

The PDFs are the stored ones (rendered and stored once if a document has none yet), and each goes
through the seal checks first: a document that no longer matches its seal is left out and named in
the README instead. A failed verification does not stop the pack: it says so at the top of the
README and in verification.txt, because an auditor must see it.
"""

import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from accounts import ledger
from accounts.ledger_verify import verify_organization
from accounts.money import quantum
from invoicing.models import CreditNote, Invoice, InvoiceStatus
from invoicing.pdf import stored_credit_note_pdf, stored_invoice_pdf
from invoicing.seal_check import SealBroken, check_stored
from ledger_site.exports import csv_bytes
from reports import aging, fec, journal_export
from reports.asof import ar_control, org_currencies

_CUSTOMER_BALANCES_SQL = """
SELECT coalesce(sum(l.amount), 0) FROM accounts_journalline l
JOIN accounts_account a ON a.id = l.account_id
WHERE l.organization_id = %(org)s AND a.system_key = 'ar' AND l.customer_id IS NOT NULL
  AND l.effective_date <= %(end)s AND l.currency = %(currency)s
"""


@dataclass
class TieOut:
    currency: str
    aging_total: Decimal
    ar_control: Decimal
    customer_balances: Decimal

    @property
    def ties(self) -> bool:
        return self.aging_total == self.ar_control == self.customer_balances


@dataclass
class Pack:
    content: bytes
    filename: str
    verified: bool
    documents: int
    left_out: list[str] = field(default_factory=list)
    tieouts: list[TieOut] = field(default_factory=list)
    fec_problems: list[str] = field(default_factory=list)


def trial_balance_rows(org, start: date, end: date, export) -> list[list]:
    """Opening (as of the day before), the period's debits and credits, closing; signed net debit."""
    def nets(as_of):
        return {(r.account.code, r.currency): (r.account, r.debit - r.credit)
                for r in ledger.trial_balance(org, as_of=as_of)}

    opening, closing = nets(start - timedelta(days=1)), nets(end)
    moves: dict[tuple, list[Decimal]] = {}
    for line in export.lines:
        debit_credit = moves.setdefault((line.account_code, line.currency), [Decimal(0), Decimal(0)])
        debit_credit[0] += line.debit
        debit_credit[1] += line.credit
    names = {key: acc.name for key, (acc, _n) in {**opening, **closing}.items()}
    names.update({(line.account_code, line.currency): line.account_name for line in export.lines})
    rows = [["account_code", "account_name", "currency", "opening", "debit", "credit", "closing"]]
    for key in sorted(set(opening) | set(closing) | set(moves)):
        debit, credit = moves.get(key, (Decimal(0), Decimal(0)))
        rows.append([key[0], names[key], key[1], opening.get(key, (None, Decimal(0)))[1], debit, credit,
                     closing.get(key, (None, Decimal(0)))[1]])
    return rows


def tie_outs(org, end: date) -> list[TieOut]:
    found = []
    for currency in org_currencies(org):
        report = aging.aging(org, aging.query_for(org, end, currency, page_size=None))
        with connection.cursor() as cursor:
            cursor.execute(_CUSTOMER_BALANCES_SQL, {"org": org.pk, "end": end, "currency": currency})
            balances = cursor.fetchone()[0]
        found.append(TieOut(currency, report.everything.total, ar_control(org, end, currency), balances))
    return found


def _stored_documents(org, start: date, end: date):
    """The stored PDF of each document issued in the period (rendered and stored if it has none
    yet), and what was refused because the document no longer matches its seal."""
    found, left_out = [], []
    invoices = (Invoice.objects.filter(organization=org, issue_date__range=(start, end))
                .exclude(status=InvoiceStatus.DRAFT).order_by("issue_date", "number"))
    for invoice in invoices:
        try:
            found.append((f"invoice {invoice.number}", stored_invoice_pdf(invoice)))
        except SealBroken as e:
            left_out.append(str(e))
    notes = CreditNote.objects.filter(organization=org, issue_date__range=(start, end)).order_by("issue_date",
                                                                                                "number")
    for note in notes:
        found.append((f"credit note {note.number}", stored_credit_note_pdf(note)))
    return found, left_out


def _checked_files(org, stored, left_out):
    """(file name, bytes, sha256) of each stored PDF whose bytes still match their seal. Runs after
    the verification, which seals the PDFs stored for this pack before it checks."""
    files = []
    for label, doc in stored:
        try:
            check_stored(org.pk, doc.kind, doc.state_key, label)
        except SealBroken as e:
            left_out.append(str(e))
            continue
        files.append((doc.filename, bytes(doc.content), doc.sha256))
    return files


def _readme(org, start, end, export, verification, tieouts, fec_name, fec_problems, fec_refused, documents,
            left_out, made_at: datetime) -> str:
    verdict = "PASSED" if verification.ok else "FAILED"
    out = [
        f"Ledgerline auditor pack - {org.name} ({org.slug})",
        f"Period: {start.isoformat()} to {end.isoformat()}; base currency {org.base_currency}",
        f"Made: {made_at.isoformat(timespec='seconds')}",
        "",
        f"Ledger verification (verify_ledger, run for this pack): {verdict}",
        f"Chain head of the period: {export.head_text}",
        f"Ledger head verified: entry {verification.to_seq or 0}, hash {verification.to_hash or '-'}",
        "",
        "AR tie-out as of the period's end (aging total = AR control = sum of customer balances):",
    ]
    out += [f"  {t.currency}: " + " / ".join(str(v.quantize(quantum(t.currency)))
                                           for v in (t.aging_total, t.ar_control, t.customer_balances))
            + f" -> {'ties' if t.ties else 'DOES NOT TIE'}" for t in tieouts]
    out += ["", "Files:",
            "  journal.csv, journal.xlsx  every journal line of the period (layout: docs/journal_export.md)",
            "  trial_balance.csv          opening, period debit and credit, closing per account and currency",
            "  ar_tieout.csv              the tie-out above",
            "  verification.txt           the verification's figures and any problem it found",
            f"  documents/                 {documents} PDFs of documents issued in the period, as stored",
            "  documents/MANIFEST.sha256  their SHA-256 (check with: sha256sum -c MANIFEST.sha256)"]
    if fec_name:
        state = "conforms to the FEC rules checked" if not fec_problems else "HAS PROBLEMS: " + "; ".join(fec_problems)
        out.append(f"  fec/{fec_name}  France's FEC (LPF art. A47 A-1); {state}")
    else:
        out.append(f"  (no FEC: {fec_refused})")
    if left_out:
        out += ["", "Left out because they no longer match their seal (see verification.txt):"]
        out += [f"  {item}" for item in left_out]
    return "\r\n".join(out) + "\r\n"


def _verification_text(verification) -> str:
    lines = [f"result: {'ok' if verification.ok else 'FAILED'}", f"organization: {verification.organization}",
             f"entries: {verification.entries}", f"lines: {verification.lines}", f"seals: {verification.seals}",
             f"documents: {verification.documents}", f"to_seq: {verification.to_seq or 0}",
             f"to_hash: {verification.to_hash}", f"to_seal_seq: {verification.to_seal_seq}",
             f"to_seal_hash: {verification.to_seal_hash}"]
    lines += [f"problem: {p}" for p in verification.problems]
    return "\r\n".join(lines) + "\r\n"


def _add(zf: zipfile.ZipFile, name: str, content: bytes) -> None:
    entry = zipfile.ZipInfo(name, date_time=journal_export.FIXED_ZIP_TIME)  # entries dated like the XLSX's
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o600 << 16
    zf.writestr(entry, content)


def build(org, start: date, end: date) -> Pack:
    """The pack of one period. Runs in the organization's tenant context."""
    export = journal_export.journal_export(org, start, end)  # checks the period
    stored, left_out = _stored_documents(org, start, end)
    verification = verify_organization(org)
    documents = _checked_files(org, stored, left_out)
    tieouts = tie_outs(org, end)
    fec_name = fec_content = fec_refused = None
    fec_problems: list[str] = []
    try:
        fec_content, fec_name = fec.render_fec(org, start, end)
        fec_problems = fec.check_fec(fec_content, start, end)
    except journal_export.ExportError as e:
        fec_refused = str(e)

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as zf:
        _add(zf, "README.txt", _readme(org, start, end, export, verification, tieouts, fec_name, fec_problems,
                                       fec_refused, len(documents), left_out, timezone.now()).encode())
        _add(zf, "journal.csv", journal_export.to_csv(export))
        _add(zf, "journal.xlsx", journal_export.to_xlsx(export))
        _add(zf, "trial_balance.csv", csv_bytes(trial_balance_rows(org, start, end, export), bom=False))
        _add(zf, "ar_tieout.csv", csv_bytes(
            [["currency", "aging_total", "ar_control", "customer_balances", "ties"]]
            + [[t.currency, t.aging_total, t.ar_control, t.customer_balances, "yes" if t.ties else "no"]
               for t in tieouts], bom=False))
        _add(zf, "verification.txt", _verification_text(verification).encode())
        if fec_content is not None:
            _add(zf, f"fec/{fec_name}", fec_content)
        manifest = []
        for filename, content, sha in documents:
            _add(zf, f"documents/{filename}", content)
            manifest.append(f"{sha}  {filename}\n")
        _add(zf, "documents/MANIFEST.sha256", "".join(manifest).encode())
    name = f"auditor-pack-{org.slug}-{start.isoformat()}-{end.isoformat()}.zip"
    return Pack(raw.getvalue(), name, verification.ok, len(documents), left_out, tieouts, fec_problems)
