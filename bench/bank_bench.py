#!/usr/bin/env python
"""Bank benchmark: import a statement of N lines and match every credit against M open invoices.

    .venv/bin/python bench/run.py bank            # 10,000 lines against 50,000 open invoices
    .venv/bin/python bench/run.py bank --quick    # 1,000 lines against 5,000 (a smoke run)

What it does, in order, on a fresh database `ledgerline_bankbench` on the server DATABASE_URL names
(or the embedded PostgreSQL in .pgdata/):

1. drop, create and migrate the database; one organization (through the product's service) and
   C customers, then M issued, open invoices written with COPY by the owner (matching reads
   invoices, not the journal, so the invoices are not posted: this benchmark is not for
   verify_ledger); ANALYZE;
2. a CAMT.053 file of N credits (written by payments.camt_writer): 40 % name an invoice number
   with its exact amount, 30 % carry a customer's name and the amount of one of its invoices,
   30 % match nothing;
3. as the application role under row-level security: `stage_import` (parse, check: the preview),
   `summarize` (the preview's duplicate look-up), `commit_import` (insert), then matching:
   one `MatchContext.for_lines` for all lines and `suggest` for each. Time per phase, the
   Python heap's peak during matching (tracemalloc) and the process's peak RSS, and how many
   lines got a suggestion of each kind;
4. a second commit of the same file (all duplicates, nothing added), timed;
5. the background path: the same file into a second account through `start_import` and the
   job's function `run_import_job` (batches of 1,000, progress saved after each), timed.

Results are printed and written to bench/results/bank-<timestamp>.json.
"""

import argparse
import json
import os
import random
import resource
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, django_setup, fresh_database, log, owner_sql, owner_url  # noqa: E402

DB_NAME = os.environ.get("BANK_BENCH_DB", "ledgerline_bankbench")  # a shared server: pick your own name
FULL = {"lines": 10_000, "invoices": 50_000, "customers": 5_000}
QUICK = {"lines": 1_000, "invoices": 5_000, "customers": 500}
SEED = 16


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    rng = random.Random(SEED)
    url, where = owner_url()
    log(f"server: {where}; size {size}")
    bench_url = fresh_database(url, DB_NAME)
    django_setup(bench_url)

    import psycopg

    from accounts.models import User
    from accounts.services import create_organization
    from bench.reports_data import copy_rows, reserve_ids
    from ledger_site.tenancy import tenant_context

    owner = User.objects.create_user(email="bench@example.com", password="x" * 12)  # noqa: S106
    org = create_organization(owner, name="Bank Bench", slug="bank-bench", base_currency="EUR")
    today = date.today()
    names = [f"Customer {n:05d} Trading" for n in range(size["customers"])]
    invoices = []
    with psycopg.connect(bench_url, autocommit=True) as conn:
        first_customer = reserve_ids(conn, "accounts_customer", len(names))
        now = datetime.now(UTC)
        copy_rows(conn, "accounts_customer", ["id", "organization_id", "name", "code", "currency", "created_at"],
                  ((first_customer + n, org.pk, name, f"C{n:05d}", "EUR", now) for n, name in enumerate(names)))
        first_invoice = reserve_ids(conn, "invoicing_invoice", size["invoices"])
        for n in range(size["invoices"]):
            customer = n % len(names)
            amount = Decimal(rng.randint(1_000, 500_000)).scaleb(-2)
            issue = today - timedelta(days=rng.randint(5, 300))
            invoices.append((first_invoice + n, first_customer + customer, f"INV-{n + 1:06d}", amount, issue))
        copy_rows(conn, "invoicing_invoice",
                  ["id", "organization_id", "customer_id", "number", "status", "currency", "issue_date", "due_date",
                   "subtotal", "tax_total", "total", "amount_due", "created_at"],
                  ((i, org.pk, c, num, "issued", "EUR", issue, issue + timedelta(days=30), amt, Decimal(0), amt, amt,
                    now) for i, c, num, amt, issue in invoices))
    owner_sql(bench_url, "ANALYZE")
    log(f"{len(names)} customers, {len(invoices)} open invoices written")

    from payments.bank import commit_import, create_bank_account, stage_import, summarize
    from payments.camt_writer import Entry, camt053_document
    from payments.matching import MatchContext

    entries, kinds = [], {"number": 0, "payer": 0, "nothing": 0}
    for n in range(size["lines"]):
        inv = invoices[rng.randrange(len(invoices))]
        day = today - timedelta(days=rng.randint(0, 30))
        roll = rng.random()
        if roll < 0.4:
            entries.append(Entry(day, inv[3], "Someone", f"Payment {inv[2]}", ref=f"B-{n}"))
            kinds["number"] += 1
        elif roll < 0.7:
            entries.append(Entry(day, inv[3], names[inv[1] - first_customer], "thanks", ref=f"B-{n}"))
            kinds["payer"] += 1
        else:
            entries.append(Entry(day, Decimal(rng.randint(100, 99_999)).scaleb(-2), f"Stranger {n}", "misc",
                                 ref=f"B-{n}"))
            kinds["nothing"] += 1
    data = camt053_document(iban="DE89370400440532013000", currency="EUR", opening=Decimal("0"), entries=entries,
                            statement_id="BENCH")
    log(f"statement: {len(entries)} lines, {len(data) / 1e6:.1f} MB; {kinds}")

    results = {"size": size, "server": where, "file_mb": round(len(data) / 1e6, 2), "kinds": kinds}
    with tenant_context(org, owner):
        acc = create_bank_account(org, name="Bench", currency="EUR", account=__import__(
            "accounts.chart", fromlist=["system_accounts"]).system_accounts(org)["bank"],
            iban="DE89370400440532013000")
        t = time.perf_counter()
        imp = stage_import(acc, filename="bench.xml", data=data, actor=owner)
        results["stage_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        summary = summarize(imp)
        results["preview_summary_s"] = round(time.perf_counter() - t, 2)
        assert len(summary.new) == len(entries)
        t = time.perf_counter()
        commit_import(imp, actor=owner)
        results["commit_s"] = round(time.perf_counter() - t, 2)
        from payments.models_bank import BankLine

        lines = list(BankLine.objects.filter(bank_account=acc).order_by("pk"))
        tracemalloc.start()
        t = time.perf_counter()
        context = MatchContext.for_lines(acc, lines)
        results["match_load_s"] = round(time.perf_counter() - t, 2)
        t2 = time.perf_counter()
        found = {"number": 0, "payer": 0, "amount_only": 0, "none": 0}
        for line in lines:
            best = context.suggest(line)
            if not best:
                found["none"] += 1
            elif best[0].key.startswith("inv:") and "named" in best[0].reason:
                found["number"] += 1
            elif "amount_only" in best[0].flags:
                found["amount_only"] += 1
            else:
                found["payer"] += 1
        results["match_suggest_s"] = round(time.perf_counter() - t2, 2)
        results["match_total_s"] = round(time.perf_counter() - t, 2)
        results["match_heap_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
        tracemalloc.stop()
        results["suggested"] = found
        again = stage_import(acc, filename="again.xml", data=data, actor=owner)
        t = time.perf_counter()
        again = commit_import(again, actor=owner)
        results["recommit_same_file_s"] = round(time.perf_counter() - t, 2)
        results["recommit_added"] = again.lines_added
        # The background path (what the page uses above BANK_IMPORT_BACKGROUND_LINES): the same file
        # into a second account, committed by the job's function in batches, run here in-process.
        from payments.bank import run_import_job, start_import

        acc2 = create_bank_account(org, name="Bench 2", currency="EUR", account=__import__(
            "accounts.chart", fromlist=["system_accounts"]).system_accounts(org)["cash"], iban="")
        imp2 = stage_import(acc2, filename="bench2.xml", data=data, actor=owner)
        start_import(imp2, actor=owner)  # claims it; outside a transaction the job is queued (no cluster here)
        t = time.perf_counter()
        results["background_added"] = run_import_job(org.pk, imp2.pk, owner.pk)
        results["background_job_s"] = round(time.perf_counter() - t, 2)
    results["import_and_match_s"] = round(results["stage_s"] + results["preview_summary_s"] + results["commit_s"]
                                          + results["match_total_s"], 2)
    results["peak_rss_mb"] = round(rss_mb(), 1)
    for k, v in results.items():
        print(f"{k:>24}: {v}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bank-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    log(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
