#!/usr/bin/env python
"""Scale benchmark (issue 23): the whole-organization pages as pages, the lists, connection reuse,
at the size of a kept reports-benchmark database, with same-run baselines.

    # once per size: load and keep a database (customers = invoices / 10)
    REPORTS_BENCH_DB=ll_scale_bench100k .venv/bin/python bench/reports_bench.py --invoices 100000 --keep
    # then, as often as needed:
    SCALE_BENCH_DB=ll_scale_bench100k .venv/bin/python bench/run.py scale [--runs 5]

Everything is measured warm, median and p95 of --runs, in process through Django's test client (server
time: middleware, queries, template), as the application role under row-level security:

* credit control: the page (50 customers + the organization's totals from one statement) next to
  the same request rendering every flagged customer (what the page did before issue 23: the
  same-run baseline), and the streamed CSV of all of them;
* the invoice list and the payment list, unfiltered, default sort and every other offered sort,
  next to the old shape of their queries (COUNT(*) + totals + page: the baseline);
* open items, insights, forecast, aging (page by name) and the dashboard;
* a light page (the reports index) as the machine's yardstick, and the cost of opening a database
  connection (what CONN_MAX_AGE saves per request).

Tenant isolation: `--org bench-small-1` measures a small organization (400 customers, 4,000
invoices) of the big database; the same pages of an organization of that size alone in a database
(`reports_bench.py --invoices 4000 --small-orgs 0 --whale 0 --keep`, REPORTS_BENCH_DB=
ll_scale_bench_alone, then SCALE_BENCH_DB=ll_scale_bench_alone ... --org bench-big) are the baseline.

Writes bench/results/scale-<db>-<org>-<stamp>.json and prints a table; `uptime` before and after.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, django_setup, log, owner_url, with_db  # noqa: E402


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1].strip()


def timed(fn, runs: int) -> tuple[float, float]:
    """(median, p95) of `runs` warm runs, in seconds."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--org", default="bench-big", help="the organization to measure (slug)")
    args = parser.parse_args(argv)
    db = os.environ.get("SCALE_BENCH_DB", "ll_scale_bench100k")
    url, _where = owner_url()
    django_setup(with_db(url, db))
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Organization, User
    from ledger_site.tenancy import tenant_context
    from reports import credit_control as cc

    results = {"db": db, "org": args.org, "runs": args.runs, "load_before": load()}
    owner = User.objects.get(email="bench-owner@example.com")
    with tenant_context(None, owner):
        org = Organization.objects.get(slug=args.org)
    import psycopg

    with psycopg.connect(with_db(url, db)) as conn:
        results["invoices"], results["open_invoices"] = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'issued' AND amount_due > 0) FROM invoicing_invoice "
            "WHERE organization_id = %s", [org.pk]).fetchone()
        results["customers"] = conn.execute("SELECT count(*) FROM accounts_customer WHERE organization_id = %s",
                                            [org.pk]).fetchone()[0]
        results["payments"] = conn.execute("SELECT count(*) FROM payments_payment WHERE organization_id = %s",
                                           [org.pk]).fetchone()[0]
    log(f"{db}: {results['invoices']} invoices ({results['open_invoices']} open), {results['customers']} customers, "
        f"{results['payments']} payments; load {results['load_before']}")
    client = Client()
    client.force_login(owner)

    def page(name, qs="", **kwargs):
        target = reverse(name, kwargs={"org_slug": org.slug, **kwargs}) + qs

        def get():
            response = client.get(target)
            assert response.status_code == 200, (target, response.status_code)
            if response.streaming:
                return b"".join(response.streaming_content)
            return response.content
        return get

    p95 = results["p95_ms"] = {}

    def measure(key, fn, runs=args.runs):
        median, high = timed(fn, runs)
        results[key], p95[key] = round(median * 1000, 1), round(high * 1000, 1)
        log(f"{key}: median {results[key]} ms, p95 {p95[key]} ms")

    measure("light_page_ms", page("report_index"))  # the yardstick
    # credit control: the page vs everything on one page (the pre-issue-23 page, same run)
    with tenant_context(org, owner):
        results["credit_control_flagged"] = cc.control_page(org, page_size=1).totals.customers
    measure("credit_control_page_ms", page("credit_control"))
    measure("credit_control_page_by_name_ms", page("credit_control", "?sort=name&page=20"))
    measure("credit_control_search_ms", page("credit_control", "?q=bakery"))
    saved = cc.PAGE_SIZE
    cc.PAGE_SIZE = 10**7
    try:
        measure("credit_control_all_rows_baseline_ms", page("credit_control"), runs=max(1, args.runs // 2))
    finally:
        cc.PAGE_SIZE = saved
    measure("credit_control_csv_all_ms", page("credit_control_export"), runs=max(1, args.runs // 2))
    # lists: the page (one aggregate + the page) for every offered sort
    from ledger_site.sorting import SORTS  # the keys each list offers (they moved there in issue 21)

    measure("invoice_list_ms", page("invoice_list"))
    for key in SORTS["invoices"]:
        measure(f"invoice_list_sort_{key}_ms", page("invoice_list", f"?sort={key}&page=3"))
    measure("invoice_list_open_ms", page("invoice_list", "?status=open"))
    measure("payment_list_ms", page("payment_list"))
    for key in SORTS["payments"]:
        measure(f"payment_list_sort_{key}_ms", page("payment_list", f"?sort=-{key}&page=3"))
    # the old shape of the invoice list's queries, same run: COUNT(*), the totals, the page
    with tenant_context(org, owner):
        from django.db.models import Count, Q, Sum

        from invoicing.models import Invoice

        def old_invoice_queries():
            qs = Invoice.objects.filter(organization=org)
            qs.count()
            list(qs.exclude(status="void").values("currency").annotate(t=Sum("total"), d=Sum("amount_due"),
                                                                        n=Count("pk")).order_by("currency"))
            list(qs.select_related("customer").order_by("-issue_date", "-pk")[:50])

        def new_invoice_queries():
            qs = Invoice.objects.filter(organization=org)
            live = ~Q(status="void")
            list(qs.order_by().values("currency").annotate(a=Count("pk"), n=Count("pk", filter=live),
                                                           t=Sum("total", filter=live),
                                                           d=Sum("amount_due", filter=live)).order_by("currency"))
            list(qs.select_related("customer").order_by("-issue_date", "-pk")[:50])

        measure("invoice_list_queries_old_ms", old_invoice_queries)
        measure("invoice_list_queries_new_ms", new_invoice_queries)
    # the other whole-organization pages
    measure("open_items_ms", page("open_items_report"))
    measure("insights_ms", page("insights_report"))
    measure("forecast_ms", page("forecast_report"))
    measure("aging_page_ms", page("aging_report"))
    measure("dashboard_ms", page("dashboard"))

    # what a persistent connection saves: open + authenticate + the first query
    def reconnect():
        connection.close()
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    measure("connection_open_ms", reconnect, runs=max(5, args.runs))
    results["load_after"] = load()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"scale-{db}-{args.org}-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\n{db}: load before {results['load_before']}, after {results['load_after']}")
    print("| measurement | median ms | p95 ms |\n|---|---:|---:|")
    for key, value in results.items():
        if key.endswith("_ms") and key != "p95_ms":
            print(f"| {key[:-3]} | {value} | {p95.get(key, '')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
