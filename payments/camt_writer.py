"""Write a small CAMT.053 statement (camt.053.001.02): the demo data's bank file and the tests'.

    camt053_document(iban="DE89...", currency="EUR", opening=Decimal("1000"), statement_id="S-1",
                     entries=[Entry(date, Decimal("121.00"), "Acme", "INV-0007", ref="B-1"), ...])

Amounts are signed (money in positive); every text is escaped.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape


@dataclass
class Entry:
    day: date
    amount: Decimal
    party: str = ""
    text: str = ""
    ref: str = ""
    iban: str = ""
    creditor_reference: str = ""


def camt053_document(*, iban: str, currency: str, opening: Decimal, entries: list[Entry],
                     statement_id: str = "STMT-1", as_of: date | None = None) -> bytes:
    """`as_of`: the statement's day when it has no entries (the caller's `Organization.today()`)."""
    closing = opening + sum((e.amount for e in entries), Decimal(0))
    days = [e.day for e in entries] or [as_of]
    if days == [None]:
        raise ValueError("A statement without entries needs its day (as_of).")
    first, last = min(days), max(days)

    def bal(code, amount, day):
        ind = "CRDT" if amount >= 0 else "DBIT"
        return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">{abs(amount):.2f}</Amt>"
                f"<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>")

    out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">"
           f"<BkToCstmrStmt><GrpHdr><MsgId>{escape(statement_id)}</MsgId><CreDtTm>{last.isoformat()}T18:00:00</CreDtTm>"
           f"</GrpHdr><Stmt><Id>{escape(statement_id)}</Id><Acct><Id><IBAN>{escape(iban)}</IBAN></Id>"
           f"<Ccy>{currency}</Ccy></Acct>", bal("OPBD", opening, first), bal("CLBD", closing, last)]
    for e in entries:
        credit = e.amount > 0
        party = "Dbtr" if credit else "Cdtr"
        parties = f"<{party}><Nm>{escape(e.party)}</Nm></{party}>" if e.party else ""
        if e.iban:
            parties += f"<{party}Acct><Id><IBAN>{escape(e.iban)}</IBAN></Id></{party}Acct>"
        rmt = f"<Ustrd>{escape(e.text)}</Ustrd>" if e.text else ""
        if e.creditor_reference:
            rmt += f"<Strd><CdtrRefInf><Ref>{escape(e.creditor_reference)}</Ref></CdtrRefInf></Strd>"
        out.append(
            f"<Ntry><Amt Ccy=\"{currency}\">{abs(e.amount):.2f}</Amt>"
            f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>"
            f"<Sts>BOOK</Sts><BookgDt><Dt>{e.day.isoformat()}</Dt></BookgDt><ValDt><Dt>{e.day.isoformat()}</Dt></ValDt>"
            + (f"<AcctSvcrRef>{escape(e.ref)}</AcctSvcrRef>" if e.ref else "")
            + f"<NtryDtls><TxDtls><RltdPties>{parties}</RltdPties><RmtInf>{rmt}</RmtInf></TxDtls></NtryDtls></Ntry>")
    out.append("</Stmt></BkToCstmrStmt></Document>\n")
    return "".join(out).encode()
