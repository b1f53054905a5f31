"""The amounts kept on documents (an invoice's paid, credited, written off and due; a payment's
allocated and refunded; a credit note's applied) are written by one module, invoicing/amounts.py.
This test reads the application's code and fails on any other statement that writes them: an ORM
`.update(...)`, `update_fields` or `bulk_update` naming them, or SQL assigning them.

Named exceptions: reminder messages keep an `amount_due` of their own (what the e-mail chased).
Issuing sets a document's first amount due in its one statement with invoicing.amounts' fragment. A draft's totals
(`invoicing.services._apply_totals`, through `amount_due_of`) and new rows written whole (an import's
invoices, the bulk door's payments) are creation, not a change, and are not matched."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "invoicing", "payments", "reminders", "reports", "ledger_site")
COLUMNS = r"(amount_paid|amount_credited|amount_written_off|amount_due|amount_allocated|amount_refunded|amount_applied)"
WRITES = [
    re.compile(r"\.update\([^)]*\b" + COLUMNS + r"\s*="),  # QuerySet.update(amount_paid=...)
    re.compile(r"update_fields\s*=\s*[\[(][^\])]*[\"']" + COLUMNS + r"[\"']"),
    re.compile(r"bulk_update\([^)]*[\"']" + COLUMNS + r"[\"']"),
    re.compile(r"\b" + COLUMNS + r"\s*=\s*(%\(|\$\d|[a-z_.]*\s*[+-]\s*%\()"),  # SQL: SET amount_due = %(x)s
]
HOME = "invoicing/amounts.py"
NAMED = {
    # A reminder message's own `amount_due` (what that e-mail chased), a column of reminders' table:
    "reminders/batches.py": 1,
    "reminders/outbox.py": 1,
}


def writes_outside_the_home() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if "migrations" in path.parts or name == HOME:
                continue
            for n, line in enumerate(path.read_text().splitlines(), start=1):
                if any(p.search(line) for p in WRITES):
                    found.setdefault(name, []).append(f"{n}: {line.strip()}")
    return found


def test_only_invoicing_amounts_writes_the_amounts_kept_on_documents():
    found = writes_outside_the_home()
    named = {name: lines for name, lines in found.items() if name in NAMED}
    assert {name: len(lines) for name, lines in named.items()} == NAMED, named
    others = {name: lines for name, lines in found.items() if name not in NAMED}
    assert others == {}, "change document amounts through invoicing.amounts.change_amounts"


def test_the_check_sees_each_kind_of_write():
    for line in ('Invoice.objects.filter(pk=1).update(amount_paid=F("amount_paid") + 1)',
                 'invoice.save(update_fields=["amount_credited"])',
                 'Payment.objects.bulk_update(rows, ["amount_allocated"])',
                 "UPDATE invoicing_invoice SET amount_due = %(due)s WHERE id = %(id)s"):
        assert any(p.search(line) for p in WRITES), line
    for line in ("Invoice.objects.filter(amount_due=0)", "if invoice.amount_due > 0:",
                 "AND i.amount_due = 0 AND i.amount_paid > 0"):
        assert not any(p.search(line) for p in WRITES), line
