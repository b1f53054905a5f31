"""Nothing is rendered from, or served as, an issued document that no longer matches its seal
(accounts.seals; DESIGN.md invariant 9).

- Before an issued invoice's PDF is rendered, its row and lines as they are now are hashed with
  the invoice seal's own expression and compared with the hash sealed when it was issued.
- Before a stored PDF is served, its bytes are hashed and compared with the hash sealed when it
  was stored.

A difference raises SealBroken: the caller refuses (HTTP 409, nothing served, no e-mail sent)
and it is logged as an error for the people who watch the logs; verify_ledger names it too.
"""

import logging

from django.db import connection
from django.http import HttpResponse

from invoicing.seals import INVOICE, PDF

log = logging.getLogger("ledgerline.seal")


class SealBroken(Exception):
    """An issued document differs from what was sealed. Nothing may be rendered or served from it."""


_INVOICE_SQL = f"""
SELECT s.seq, s.content_hash = {INVOICE.hash_sql()}
FROM invoicing_invoice d LEFT JOIN accounts_sealrecord s
    ON s.organization_id = d.organization_id AND s.kind = 'invoice' AND s.object_id = d.id
WHERE d.id = %s
"""  # noqa: S608 (fixed expressions from invoicing.seals)
_PDF_SQL = f"""
SELECT d.id, s.seq, s.content_hash = {PDF.hash_sql()}, d.sha256 = encode(sha256(d.content), 'hex')
FROM invoicing_storeddocument d LEFT JOIN accounts_sealrecord s
    ON s.organization_id = d.organization_id AND s.kind = 'pdf' AND s.object_id = d.id
WHERE d.organization_id = %s AND d.kind = %s AND d.state_key = %s
"""  # noqa: S608


def check_invoice(invoice) -> None:
    """Raise SealBroken if the issued invoice's content differs from its seal (or has none)."""
    with connection.cursor() as cursor:
        cursor.execute(_INVOICE_SQL, [invoice.pk])
        row = cursor.fetchone()
    if row is None:
        return  # not visible here: nothing to render either
    seq, matches = row
    if not matches:
        message = (f"{invoice.number}: the invoice no longer matches the hash sealed in seal #{seq}"
                   if seq is not None else f"{invoice.number}: the invoice was never sealed")
        log.error("Refused to render: %s (organization %s)", message, invoice.organization_id)
        raise SealBroken(message)


def check_stored(org_id: int, kind: str, state_key: str, label: str) -> None:
    """Raise SealBroken if the stored PDF's bytes differ from what was sealed when it was stored."""
    with connection.cursor() as cursor:
        cursor.execute(_PDF_SQL, [org_id, kind, state_key])
        row = cursor.fetchone()
    if row is None:
        return
    _doc_id, seq, matches, sha_matches = row
    if not (matches and sha_matches):
        message = (f"{label}: the stored PDF no longer matches the hash sealed in seal #{seq}"
                   if seq is not None else f"{label}: the stored PDF was never sealed")
        log.error("Refused to serve: %s (organization %s)", message, org_id)
        raise SealBroken(message)


def refused(exc: SealBroken) -> HttpResponse:
    """What a PDF request gets instead of a document that differs from its seal."""
    return HttpResponse(f"Not served: {exc}. The document differs from what was sealed when it was issued; "
                        "run verify_ledger.", status=409, content_type="text/plain; charset=utf-8")
