#!/usr/bin/env python
"""Search and list benchmark (issue 21): the top bar's search and the sorted, filtered list pages,
p95 and median server time, with a light page measured in the same run as the yardstick.

    .venv/bin/python bench/run.py search --quick          # loads 1,000 customers / 10,000 invoices
    .venv/bin/python bench/run.py search                  # the issue's size: 100,000 / 1,000,000
    SEARCH_BENCH_DB=ll_scale_bench100k .venv/bin/python bench/run.py search --reuse   # a kept database

Targets (issue 21, at 100,000 customers and 1,000,000 invoices): search p95 <= 100 ms, a sorted and
filtered list page p95 <= 150 ms. The data is the reports benchmark's (bench/reports_data.py: one
big organization and small ones beside it, loaded by bench/reports_bench.load_org); it is measured
in process through Django's test client as the application role (row-level security on): server
time, middleware, queries and template, warm. The search reads the trigram indexes that exist only
where the server has pg_trgm (docs/daily_use.md); the result says whether they were there.

Writes bench/results/search-<stamp>.json and prints each figure; `uptime` before and after.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, bench_database, django_setup, log, owner_url, with_db  # noqa: E402

DB_NAME = os.environ.get("SEARCH_BENCH_DB", "ll_search_bench")
FULL = {"customers": 100_000, "invoices": 1_000_000, "small_orgs": 2, "runs": 40}
QUICK = {"customers": 1_000, "invoices": 10_000, "small_orgs": 1, "runs": 20}
TARGETS_MS = {"search": 100, "list": 150}


def load_average() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1].strip()


def percentiles(fn, runs: int) -> dict:
    fn()  # warm: templates, caches, the connection
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return {"median_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1), "runs": runs}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database (SEARCH_BENCH_DB), load nothing")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database afterwards")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--only", action="append", help="measure only the cases whose label contains this "
                        "(repeatable; the yardstick always runs)")
    args = parser.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    runs = args.runs or cfg["runs"]
    url, _where = owner_url()
    results = {"size": f"{cfg['customers']} customers / {cfg['invoices']} invoices" if not args.reuse else DB_NAME,
               "load_before": load_average(), "targets_ms": TARGETS_MS}
    bench_url = bench_database(url, DB_NAME, args.reuse)
    django_setup(bench_url)
    import psycopg
    from django.test import Client
    from django.urls import reverse

    from bench.reports_bench import load_org, owner_and_org
    from bench.reports_data import Size

    today = date.today()

    def load(owner):
        t0 = time.perf_counter()
        org, _counts = load_org(bench_url, owner, "Bench Big Co", "bench-big",
                                Size(cfg["customers"], cfg["invoices"]), 1, today, unsealed=True)
        for n in range(cfg["small_orgs"]):
            load_org(bench_url, owner, f"Bench Small {n + 1}", f"bench-small-{n + 1}",
                     Size(max(50, cfg["customers"] // 20), max(500, cfg["invoices"] // 20)), 100 + n, today,
                     unsealed=True)
        results["load_s"] = round(time.perf_counter() - t0, 1)
        with psycopg.connect(bench_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        return org

    owner, org, _loaded = owner_and_org(args.reuse, "bench-owner@example.com", "bench-big", load)
    with psycopg.connect(bench_url, autocommit=True) as conn:
        results["invoices"], results["customers"], results["payments"] = conn.execute(
            "SELECT (SELECT count(*) FROM invoicing_invoice WHERE organization_id = %(o)s),"
            " (SELECT count(*) FROM accounts_customer WHERE organization_id = %(o)s),"
            " (SELECT count(*) FROM payments_payment WHERE organization_id = %(o)s)", {"o": org.pk}).fetchone()
        results["trigram_indexes"] = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'search_%%trgm'").fetchone()[0]
        sample = conn.execute(
            "SELECT i.number, i.total, c.name, c.code, c.id FROM invoicing_invoice i JOIN accounts_customer c"
            " ON c.id = i.customer_id WHERE i.organization_id = %s AND i.status = 'issued'"
            " ORDER BY i.id DESC LIMIT 1", [org.pk]).fetchone()
    number, total, name, code, customer_id = sample
    log(f"{DB_NAME}: {results['invoices']} invoices, {results['customers']} customers, {results['payments']} payments "
        f"in the measured organization; trigram indexes: {results['trigram_indexes']}; load {results['load_before']}")
    client = Client()
    client.force_login(owner)

    def page(url_name, query=""):
        target = reverse(url_name, kwargs={"org_slug": org.slug}) + query

        def get():
            response = client.get(target)
            assert response.status_code == 200, (target, response.status_code)
        return get

    word = name.split()[0]
    amount = f"{total:,.2f}"
    cases = {
        "light_page (yardstick)": ("other", page("report_index")),
        f"search customer name '{word.lower()}'": ("search", page("global_search", f"?format=json&q={word.lower()}")),
        f"search customer code '{code}'": ("search", page("global_search", f"?format=json&q={code}")),
        f"search invoice number '{number}'": ("search", page("global_search", f"?format=json&q={number}")),
        f"search amount '{amount}'": ("search", page("global_search", f"?format=json&q={amount.replace(',', '%2C')}")),
        "search results page 'bench'": ("search", page("global_search", "?q=bench")),
        "invoice list open, by amount due": ("list", page("invoice_list", "?status=open&sort=-amount_due")),
        "invoice list overdue, by due, page 3": ("list", page("invoice_list", "?status=overdue&sort=due&page=3")),
        "invoice list overdue (default sort)": ("list", page("invoice_list", "?status=overdue")),
        f"invoice list of customer {code}": ("list", page("invoice_list", f"?customer={customer_id}")),
        "invoice list total 500-5,000, by total": ("list", page("invoice_list",
                                                               "?amount_min=500&amount_max=5000&sort=-total")),
        "customer list active, by name, page 4": ("list", page("customer_list", "?status=active&sort=name&page=4")),
        "customer list by -balance (who owes most)": ("list", page("customer_list", "?sort=-balance")),
    }
    # every offered sort of the three lists, unfiltered, page 3 (ledger_site.sorting: one home for the keys)
    from ledger_site.sorting import DEFAULT_DIRECTION, SORTS

    for list_name, url_name in (("invoices", "invoice_list"), ("payments", "payment_list"),
                                ("customers", "customer_list")):
        cases[f"{list_name} list (default sort)"] = ("list", page(url_name))
        for key in SORTS[list_name]:
            sort = DEFAULT_DIRECTION[list_name] + key
            cases[f"{list_name} list by {sort}, page 3"] = ("list", page(url_name, f"?sort={sort}&page=3"))
    if args.only:
        cases = {k: v for k, v in cases.items() if k.startswith("light") or any(o in k for o in args.only)}
    figures = {}
    for label, (kind, fn) in cases.items():
        figures[label] = {"kind": kind, **percentiles(fn, runs)}
        target = TARGETS_MS.get(kind)
        verdict = "" if target is None else (" ok" if figures[label]["p95_ms"] <= target else f" over {target} ms")
        log(f"{label}: p95 {figures[label]['p95_ms']} ms, median {figures[label]['median_ms']} ms{verdict}")
    results["figures"] = figures
    results["load_after"] = load_average()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"search-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    log(f"load before {results['load_before']}, after {results['load_after']}; written {out}")
    print("| case | median ms | p95 ms | target |\n|---|---:|---:|---:|")
    for label, f in figures.items():
        print(f"| {label} | {f['median_ms']} | {f['p95_ms']} | {TARGETS_MS.get(f['kind'], '–')} |")
    if not args.keep and not args.reuse:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
