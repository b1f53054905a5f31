"""The integrity benchmark's documents, written set-based (issue 13: 300,000 invoices in minutes).

Loading 300,000 invoices through the import pages ran at 139 invoices/s under load: per row the
file is parsed, every cell checked, and the whole file is one transaction. Here the rows are made
in memory (two lines each, one taxed at 20 %) and handed, in batches of BATCH invoices with one
transaction each, to the invoices importer's own writer (`InvoiceImporter.write`): the same code
an import commits with, so the rows are exactly what the product writes:

- the issue entries through the ledger's bulk door (accounts.ledger_bulk: COPY, the hash chain,
  the maintained balances), keyed `import:invoice:<number>`;
- the lines, then the issued invoices with their snapshots, then the timeline events, each with one
  COPY into a staging table and one INSERT (accounts.imports.copy), as the application role under
  row-level security; each invoice INSERT is sealed by its statement trigger (`ledger_seal_rows`,
  set-based), with its lines.

Only the parsing and the per-cell checks of the import page are skipped: the values are made
valid (quantities, prices, 0 or 20 % tax, dates within the last 400 days). verify_ledger must pass
on the result (the benchmark asserts it).
"""

import random
import time
from datetime import timedelta
from decimal import Decimal

BATCH = 10_000


def load_invoices(org, owner, customers, n: int, today, log, prefix: str = "B") -> dict:
    from django.db import transaction

    from accounts.imports import Record, get_importer
    from invoicing.importers import _LineData
    from invoicing.totals import line_amounts, sum_lines
    from ledger_site.tenancy import tenant_context

    if not n:
        return {"invoices": 0}
    rng = random.Random(13)
    importer = get_importer("invoices")
    t0 = time.perf_counter()
    with tenant_context(org, owner):
        state = importer.begin(org, owner)
        for start in range(0, n, BATCH):
            records = []
            for i in range(start, min(n, start + BATCH)):
                issue = today - timedelta(days=rng.randint(1, 400))
                customer = customers[rng.randrange(len(customers))]
                lines = [_LineData(1, "Goods", Decimal(rng.randint(1, 5)), Decimal(rng.randint(100, 500_000)) / 100,
                                   Decimal(0), Decimal(20)),
                         _LineData(2, "Handling", Decimal(1), Decimal(rng.randint(100, 10_000)) / 100,
                                   Decimal(0), Decimal(0))]
                amounts = [(line.tax_percent, line_amounts(line.quantity, line.unit_price, line.discount_percent,
                                                           Decimal(0), line.tax_percent, customer.currency))
                           for line in lines]
                totals = sum_lines(amounts)
                head = {"customer": customer, "number": f"{prefix}-{i:07d}", "currency": customer.currency,
                        "issue_date": issue, "due_date": issue + timedelta(days=customer.payment_terms_days),
                        "reference": "", "totals": totals, "draft": False, "discount_percent": Decimal(0),
                        "notes": "", "terms": ""}
                records.append(Record(key=head["number"], rows=[2 * i + 2, 2 * i + 3],
                                      data=(head, list(zip(lines, amounts, strict=True))),
                                      currency=customer.currency, amount=totals.total, day=issue))
            with transaction.atomic():
                importer.write(state, records, lambda _n: None)
            done = start + len(records)
            log(f"invoices: {done} written ({done / (time.perf_counter() - t0):.0f}/s)")
    seconds = time.perf_counter() - t0
    return {"invoices": n, "lines": 2 * n, "seconds": seconds, "per_s": n / seconds,
            "how": f"invoices importer's writer, {BATCH} per transaction"}
