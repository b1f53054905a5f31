#!/usr/bin/env python
"""Worklist benchmark (issue 19): the collector's "today" page for an organization with 10,000
customers and about 200,000 open invoices. Target: at most 200 ms server time.

    .venv/bin/python bench/run.py worklist            # 10,000 customers, 600,000 invoices (~1/3 open)
    .venv/bin/python bench/run.py worklist --quick    # 1,000 customers, 30,000 invoices
    .venv/bin/python bench/run.py worklist --reuse    # measure the kept database again

On a fresh database `ledgerline_worklistbench` (or $WORKLIST_BENCH_DB) on the server DATABASE_URL
names (else the embedded one):

1. one organization loaded like the reports benchmark (bench/reports_data.py: the journal through
   the bulk posting door, the documents with COPY, their seal triggers off while copying, as
   `reports_bench --unsealed` does), plus a few hundred notifications for the collector;
2. ANALYZE, then the worklist request through Django's test client in process (server time:
   middleware, queries, template), warm, median of several runs, next to a bare signed-in page
   (the account's language settings) measured in the same run as the baseline;
3. prints the figures with `uptime` and writes bench/results/worklist-<time>.json.

Not run by `make test`.
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

from bench.common import RESULTS, bench_database, django_setup, log, owner_url  # noqa: E402

DB_NAME = os.environ.get("WORKLIST_BENCH_DB", "ledgerline_worklistbench")
FULL = {"customers": 10_000, "invoices": 600_000, "runs": 9}
QUICK = {"customers": 1_000, "invoices": 30_000, "runs": 5}
TARGET_S = 0.2
NOTIFICATIONS = 300


def _median(fn, runs: int) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure the kept database again, load nothing")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    url, where = owner_url()
    bench_url = bench_database(url, DB_NAME, args.reuse)
    django_setup(bench_url)
    import psycopg
    from django.test import Client
    from django.urls import reverse

    from bench.reports_bench import load_org, owner_and_org
    from bench.reports_data import Size
    from ledger_site.tenancy import tenant_context
    from reminders.notifications import notify

    today = date.today()

    def load(owner):
        t0 = time.perf_counter()
        org, counts = load_org(bench_url, owner, "Worklist Co", "worklist-big",
                               Size(cfg["customers"], cfg["invoices"]), 7, today, unsealed=True)
        with tenant_context(org, owner):
            for n in range(NOTIFICATIONS):
                notify(org.pk, [owner.pk], "bench", f"Notification {n}", key=f"bench-{n}")
        log(f"loaded {counts} in {time.perf_counter() - t0:.0f}s")
        with psycopg.connect(bench_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        return org

    owner, org, _loaded = owner_and_org(args.reuse, "worklist-owner@example.com", "worklist-big", load,
                                        full_name="Collector")
    with psycopg.connect(bench_url, autocommit=True) as conn:
        open_invoices, overdue = conn.execute(
            "SELECT count(*) FILTER (WHERE amount_due > 0), count(*) FILTER (WHERE amount_due > 0 AND due_date < %s) "
            "FROM invoicing_invoice WHERE organization_id = %s AND status = 'issued'", [today, org.pk]).fetchone()
    client = Client()
    client.force_login(owner)
    worklist_url = reverse("worklist", kwargs={"org_slug": org.slug})
    bare_url = reverse("language_settings")

    def worklist():
        response = client.get(worklist_url)
        assert response.status_code == 200 and b"wl-notifications" in response.content
        return response

    def bare():
        response = client.get(bare_url)
        assert response.status_code == 200
        return response

    results = {"where": where, "customers": cfg["customers"], "open_invoices": open_invoices,
               "overdue_invoices": overdue, "runs": cfg["runs"]}
    # Interleaved rounds, so both see the same machine.
    page, base = [], []
    for _ in range(3):
        page.append(_median(worklist, cfg["runs"]))
        base.append(_median(bare, cfg["runs"]))
    results["worklist_s"] = round(statistics.median(page), 4)
    results["bare_page_s"] = round(statistics.median(base), 4)
    results["target_s"] = TARGET_S
    results["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    text = json.dumps(results, indent=2, default=str)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"worklist-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(text)
    log(f"worklist {results['worklist_s'] * 1000:.0f} ms (bare page {results['bare_page_s'] * 1000:.0f} ms) "
        f"for {open_invoices} open invoices, {cfg['customers']} customers; target {TARGET_S * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
