#!/usr/bin/env python
"""Imports benchmark: an invoices file (two lines per invoice) and a payments file, dry run and
import, end to end through accounts.imports (the same code as the pages and the command).

    .venv/bin/python bench/run.py imports                      # 20,000 invoices (40,000 rows), 5,000 payments
    .venv/bin/python bench/run.py imports --quick              # 2,000 invoices, 500 payments
    .venv/bin/python bench/run.py imports --invoices 100000 --payments 100000   # the issue's size

On a fresh database `ledgerline_impbench` (the server DATABASE_URL names), as the application
role under row-level security:
1. one organization; a customers file of invoices/20 customers, imported;
2. the invoices CSV: every invoice two lines (one taxed at 20 %), dates over the past three
   years; dry run, then import (which checks again inside its transaction); rows/s for each and
   end to end;
3. the payments CSV: each pays one invoice in full, by number; dry run and import;
4. the same invoices file again: nothing new (the re-import check), and its time;
5. verify_ledger on the organization; peak resident memory of the process (ru_maxrss) after each
   step.
Results are printed and written to bench/results/imports-<timestamp>.json.
"""

import argparse
import json
import os
import random
import resource
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, django_setup, fresh_database, owner_sql, owner_url  # noqa: E402

DB_NAME = os.environ.get("IMPORT_BENCH_DB", "ledgerline_impbench")  # another name: parallel runs never share one


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def files(n_invoices: int, n_payments: int, rng):
    from django.utils import timezone

    today = timezone.localdate()
    n_customers = max(10, n_invoices // 20)
    customers = ["code,name\n"] + [f"{c:06d},Customer {c}\n" for c in range(n_customers)]
    invoices = ["number,customer_code,issue_date,description,quantity,unit_price,tax\n"]
    amounts = []
    for i in range(n_invoices):
        day = today - timedelta(days=rng.randint(1, 3 * 365))
        code = f"{rng.randrange(n_customers):06d}"
        qty, price = rng.randint(1, 5), rng.randint(100, 500_000) / 100
        fee = rng.randint(100, 10_000) / 100
        invoices.append(f"H-{i:07d},{code},{day:%d.%m.%Y},Goods,{qty},\"{price:,.2f}\",20\n")
        invoices.append(f"H-{i:07d},{code},{day:%d.%m.%Y},Handling,1,{fee:.2f},0\n")
        from decimal import ROUND_HALF_UP, Decimal

        net = Decimal(qty) * Decimal(f"{price:.2f}")
        total = net + (net * Decimal("0.2")).quantize(Decimal("0.01"), ROUND_HALF_UP) + Decimal(f"{fee:.2f}")
        amounts.append((code, day, total))
    payments = ["customer_code,received_date,amount,reference,invoices\n"]
    for i in range(min(n_payments, n_invoices)):
        code, day, total = amounts[i]
        payments.append(f"{code},{min(day + timedelta(days=20), today):%Y-%m-%d},{total},P{i},H-{i:07d}\n")
    return ("".join(customers).encode(), "".join(invoices).encode(), "".join(payments).encode())


def timed(org, kind, data, commit):
    from accounts.imports import get_importer
    from accounts.imports.engine import run, suggest_mapping
    from accounts.imports.parsing import open_table
    from ledger_site.tenancy import tenant_context

    importer = get_importer(kind)
    table = open_table(data, f"{kind}.csv")
    start = time.perf_counter()
    with tenant_context(org):
        report = run(org, importer, table, suggest_mapping(importer, table.headers), {}, commit=commit)
    elapsed = time.perf_counter() - start
    assert report.ok, report.errors[:5]
    return report, elapsed


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--invoices", type=int)
    parser.add_argument("--payments", type=int)
    args = parser.parse_args(argv)
    n_inv = args.invoices or (2000 if args.quick else 20000)
    n_pay = args.payments if args.payments is not None else (500 if args.quick else 5000)
    url, where = owner_url()
    bench_url = fresh_database(url, DB_NAME)
    django_setup(bench_url)
    os.environ.setdefault("IMPORT_MAX_BYTES", str(200 * 1024 * 1024))
    from django.conf import settings

    settings.IMPORT_MAX_BYTES = 200 * 1024 * 1024
    from accounts.ledger_verify import verify_organization
    from accounts.models import User
    from accounts.services import create_organization
    from ledger_site.tenancy import tenant_context

    owner = User.objects.create_user(email="bench@example.com", password="x")  # noqa: S106
    org = create_organization(owner, name="Import bench", slug="import-bench", base_currency="EUR")
    rng = random.Random(14)
    customers, invoices, payments = files(n_inv, n_pay, rng)
    results = {"server": where, "invoices": n_inv, "invoice_rows": 2 * n_inv, "payments": n_pay,
               "invoices_mb": round(len(invoices) / 1048576, 1), "load": os.getloadavg()}
    timed(org, "customers", customers, True)
    owner_sql(bench_url, "ANALYZE")
    _, dry = timed(org, "invoices", invoices, False)
    results["invoices_dry_run_s"], results["peak_mb_after_dry_run"] = round(dry, 2), peak_mb()
    report, commit = timed(org, "invoices", invoices, True)
    assert report.written == {"invoices": n_inv}
    results["invoices_import_s"], results["peak_mb_after_import"] = round(commit, 2), peak_mb()
    results["invoice_rows_per_s_dry_run"] = round(2 * n_inv / dry)
    results["invoice_rows_per_s_import"] = round(2 * n_inv / commit)
    results["invoice_rows_per_s_end_to_end"] = round(2 * n_inv / (dry + commit))
    owner_sql(bench_url, "ANALYZE")
    if n_pay:
        _, pdry = timed(org, "payments", payments, False)
        report, pcommit = timed(org, "payments", payments, True)
        results["payments_dry_run_s"], results["payments_import_s"] = round(pdry, 2), round(pcommit, 2)
        results["payments_per_s_end_to_end"] = round(n_pay / (pdry + pcommit))
    report, again = timed(org, "invoices", invoices, True)
    assert report.new == 0 and report.existing == n_inv
    results["reimport_s"] = round(again, 2)
    with tenant_context(org):
        start = time.perf_counter()
        verified = verify_organization(org)
        results["verify_ledger_ok"], results["verify_s"] = verified.ok, round(time.perf_counter() - start, 2)
    results["peak_mb"] = peak_mb()
    for key, value in results.items():
        print(f"{key:32} {value}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"imports-{datetime.now():%Y%m%d-%H%M%S}.json").write_text(json.dumps(results, indent=2))
    return 0 if verified.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
