"""What a customer's bank transfer should carry so that it finds its invoice with certainty.

- An ISO 11649 structured creditor reference ("RF" + two check digits + up to 21 letters and
  digits) whose payload is the invoice number without separators: `INV-2026-00179` becomes
  `RF23INV202600179`. It is derived from the number, never stored, so it cannot drift; bank-line
  matching (payments.matching) reads the payload back as the invoice number. A number longer than
  21 letters and digits has no RF reference (the standard's limit), and the invoice says "quote the
  number" as before.
- An EPC QR code (European Payments Council, "SEPA credit transfer", guideline EPC069-12, version
  002) for invoices in euros with an IBAN in the payment details: a banking app that scans it fills
  in payee, IBAN, amount and the RF reference.
"""

import re
from decimal import Decimal

import segno

RF_PAYLOAD_MAX = 21
_RF = re.compile(r"RF\d{2}[A-Z0-9]{1,21}")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")
EPC_AMOUNT_MAX = Decimal("999999999.99")


def _mod97(text: str) -> int:
    """ISO 7064 mod 97-10 of letters and digits, letters counting A=10 … Z=35."""
    return int("".join(str(int(c, 36)) for c in text)) % 97


def rf_valid(ref: str) -> bool:
    """ISO 11649: RF, two check digits, 1-21 alphanumerics; mod 97 of the rearranged number is 1."""
    ref = ref.replace(" ", "").upper()
    return bool(_RF.fullmatch(ref)) and _mod97(ref[4:] + ref[:4]) == 1


def iban_of(bank_details: str) -> str:
    """The first IBAN written in the organization's free-text bank details ("" if none)."""
    found = _IBAN.search((bank_details or "").upper())
    return found.group(1).replace(" ", "") if found else ""


def creditor_reference(number: str) -> str:
    """The RF reference of an invoice number ("" when the number cannot carry one)."""
    payload = re.sub(r"[^A-Z0-9]", "", (number or "").upper())
    if not payload or len(payload) > RF_PAYLOAD_MAX:
        return ""
    return f"RF{98 - _mod97(payload + 'RF00'):02d}{payload}"


def grouped(ref: str) -> str:
    """Printed in groups of four, as the standard recommends for reading aloud and typing."""
    return " ".join(ref[i:i + 4] for i in range(0, len(ref), 4))


def epc_payload(*, name: str, iban: str, amount: Decimal, reference: str, bic: str = "") -> str:
    """The EPC069-12 v002 text: service tag, version, UTF-8, SCT, BIC, name, IBAN, amount, purpose,
    structured reference. The unstructured text stays empty and, being last, is left out (the
    guideline: nothing follows the last element that has a value)."""
    return "\n".join(["BCD", "002", "1", "SCT", bic, name[:70], iban.replace(" ", "").upper(),
                      f"EUR{amount:.2f}", "", reference])


def epc_qr_svg(*, name: str, iban: str, amount: Decimal, currency: str, reference: str) -> str:
    """The EPC QR code as inline SVG, or "" when the invoice cannot have one (not euros, no IBAN,
    nothing or too much to pay, no RF reference)."""
    if currency != "EUR" or not iban or not reference or not (Decimal("0.01") <= amount <= EPC_AMOUNT_MAX):
        return ""
    # The guideline asks for error correction level M; segno would raise it by itself if room allowed.
    qr = segno.make_qr(epc_payload(name=name, iban=iban, amount=amount, reference=reference), error="m",
                       boost_error=False, encoding="utf-8")
    return qr.svg_inline(scale=3, border=2, omitsize=True)
