#!/usr/bin/env python
"""Reports over time (issue 20): the dashboard as of a past day, the DSO trend, payment behaviour
over all time and the collection KPIs, each measured in the same run as today's dashboard.

    .venv/bin/python bench/run.py overtime --quick   # 3,000 customers, 30,000 invoices (minutes)
    .venv/bin/python bench/run.py overtime           # 100,000 customers, 1,000,000 invoices
    .venv/bin/python bench/run.py overtime --keep / --reuse

The data is the reports benchmark's (bench/reports_data.py through bench/reports_bench.load_org:
two years of invoices, partial payments, credit notes, write-offs, money on account, then voids,
reversals, refunds and un-applications through the services) on its own database
`ll_overtime_bench` (OVERTIME_BENCH_DB). Measured warm, median of several runs, in process:

* baseline: today's dashboard, the whole request through Django's test client;
* the dashboard as of the end of last quarter (whole request);
* DSO trend: 8 quarters and 12 months, each with the three formulas (reports.dso.trend), and
  the whole DSO page (which also computes best-possible DSO);
* payment behaviour for all customers over all time: every customer's row built (reports.behaviour,
  what the CSV export gets), and the page (whole request: the overall figures and its first 100
  customers, ordered and cut in SQL by reports.behaviour.behaviour_page);
* the collection KPIs (CEI, ADD, at-risk) for the last quarter;
* the balance sheet as of today and as of the end of last quarter, and the cash-flow statement of
  last quarter (whole requests: the pages an owner opens), with the balance and reconciliation checked.

Targets (issue 20, full size): dashboard as of a past day ≤ 1 s, DSO trend (8 quarters × 3
formulas) ≤ 1 s, payment behaviour for all customers over all time ≤ 2 s, balance sheet ≤ 200 ms.
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, bench_database, django_setup, log, owner_url, with_db  # noqa: E402
from bench.reports_bench import FULL, QUICK, check_balances, load_org, service_activity, timed  # noqa: E402

DB_NAME = os.environ.get("OVERTIME_BENCH_DB", "ll_overtime_bench")
TARGETS = {
    "dashboard_as_of_s": 1.0,
    "dso_trend_s": 1.0,
    "behaviour_all_time_s": 2.0,
    "behaviour_page_all_time_s": 2.0,
    "balance_sheet_s": 0.2,
    "balance_sheet_as_of_s": 0.2,
}


def measure(org, owner, runs, results, today, only=()):
    """`only`: just the figures whose names start with one of these (today's dashboard, the baseline, always)."""

    def want(key):
        return not only or key == "dashboard_today_s" or key.startswith(tuple(only))

    from django.test import Client
    from django.urls import reverse

    from ledger_site.tenancy import tenant_context
    from reports import behaviour, dso, financials, kpis

    quarter_end = dso.period_start("quarter", today) - timedelta(days=1)
    results["as_of"] = quarter_end.isoformat()
    client = Client()
    client.force_login(owner)
    dash = reverse("dashboard", kwargs={"org_slug": org.slug})

    def page(url):
        response = client.get(url)
        assert response.status_code == 200 and b"data-problem" not in response.content, url
        return response

    for key, url in (
        ("dashboard_today_s", dash),
        ("dashboard_as_of_s", f"{dash}?as_of={quarter_end}"),
        ("dso_page_s", reverse("dso_report", kwargs={"org_slug": org.slug}) + f"?as_of={quarter_end}"),
        # issue 20 gap 1-2: as of a past day (disputes and promises of the day), forecast accuracy
        ("open_items_as_of_s", reverse("open_items_report", kwargs={"org_slug": org.slug}) + f"?as_of={quarter_end}"),
        ("insights_today_s", reverse("insights_report", kwargs={"org_slug": org.slug})),
        ("insights_as_of_s", reverse("insights_report", kwargs={"org_slug": org.slug}) + f"?as_of={quarter_end}"),
        ("forecast_accuracy_s", reverse("forecast_accuracy", kwargs={"org_slug": org.slug})),
        # the payment behaviour page over all time: overall figures and its first 100 customers (the CSV has all)
        ("behaviour_page_all_time_s", reverse("payment_behaviour", kwargs={"org_slug": org.slug}) + "?window=all"),
        # issue 20 item 6: the balance sheet (target ≤ 200 ms) and the cash-flow statement
        ("balance_sheet_s", reverse("balance_sheet", kwargs={"org_slug": org.slug})),
        ("balance_sheet_as_of_s", reverse("balance_sheet", kwargs={"org_slug": org.slug}) + f"?as_of={quarter_end}"),
        (
            "cash_flow_s",
            reverse("cash_flow", kwargs={"org_slug": org.slug})
            + f"?start={dso.period_start('quarter', quarter_end)}&end={quarter_end}",
        ),
    ):
        if not want(key):
            continue
        med, best, _ = timed(lambda url=url: page(url), runs)
        results[key] = round(med, 3)
        log(f"{key}: median {med * 1000:.0f} ms (best {best * 1000:.0f} ms)")
    with tenant_context(org, owner):  # what those pages showed: balanced, reconciled
        if want("balance_sheet") or want("cash_flow"):
            for day in (today, quarter_end):
                assert financials.balance_sheet(org, "EUR", day).balances, (
                    f"the balance sheet of {day} does not balance"
                )
            assert financials.cash_flow(org, "EUR", dso.period_start("quarter", quarter_end), quarter_end).reconciles, (
                "the cash-flow statement does not reconcile to the cash accounts"
            )
    with tenant_context(org, owner):
        if want("dso_trend_s"):

            def trend():
                return (
                    dso.trend(org, "EUR", quarter_end, "quarter", 8),
                    dso.trend(org, "EUR", quarter_end, "month", 12),
                )

            med, best, (quarters, _months) = timed(trend, runs)
            results["dso_trend_s"] = round(med, 3)
            results["dso_last_quarter"] = {
                f: str(quarters[-1].value(f)) for f in (dso.PERIOD_END, dso.AVERAGE, dso.COUNT_BACK)
            }
            log(
                f"DSO trend (8 quarters + 12 months × 3 formulas): median {med * 1000:.0f} ms; "
                f"last quarter {results['dso_last_quarter']}"
            )
        if want("behaviour_all_time_s"):
            start, end = behaviour.window(org, "all")
            med, best, report = timed(lambda: behaviour.behaviour(org, "EUR", start, end), runs)
            results["behaviour_all_time_s"] = round(med, 3)
            results["behaviour_paid_invoices"] = report.total.all.count
            results["behaviour_customers"] = len(report.rows)
            log(
                f"payment behaviour, all time ({report.total.all.count} paid invoices, {len(report.rows)} customers): "
                f"median {med * 1000:.0f} ms"
            )
        if want("kpis_s"):
            med, best, k = timed(lambda: kpis.kpis(org, "EUR", "quarter", quarter_end), runs)
            results["kpis_s"] = round(med, 3)
            log(f"collection KPIs: median {med * 1000:.0f} ms (CEI {k.cei} %, ADD {k.add}, at risk {k.at_risk_rate} %)")
        if want("report_email"):
            # Issue 20 item 9: a scheduled report e-mail's attachment for last week (as of its Sunday), rendered.
            from reports.models import ReportSubscription
            from reports.subscriptions import last_complete_period, render

            start, end = last_complete_period("weekly", org.today())
            for key, report, fmt in (
                ("report_email_summary_pdf_s", "summary", "pdf"),
                ("report_email_aging_xlsx_s", "aging", "xlsx"),
            ):
                sub = ReportSubscription(
                    organization=org, user=owner, report=report, frequency="weekly", file_format=fmt
                )
                med, best, attachment = timed(lambda sub=sub: render(org, sub, start, end), runs)
                results[key] = round(med, 3)
                log(f"{key} ({len(attachment.content)} bytes): median {med * 1000:.0f} ms (best {best * 1000:.0f} ms)")
    # Issue 20 item 8: the overview across the owner's organizations (here one: its dashboard, plus the page).
    if want("overview_s"):
        overview = reverse("organizations_overview")
        med, best, _ = timed(lambda: page(overview), runs)
        results["overview_s"] = round(med, 3)
        log(f"overview_s: median {med * 1000:.0f} ms (best {best * 1000:.0f} ms)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--tiny", action="store_true", help="500 customers, 5,000 invoices (a busy machine)")
    parser.add_argument("--invoices", type=int, default=0, help="a size in between: N invoices, N/10 customers")
    parser.add_argument("--only", default="", help="comma-separated name prefixes, e.g. dashboard,behaviour,balance")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.tiny:
        cfg = dict(QUICK, customers=500, invoices=5_000, whale=200, services=10)
    if args.invoices:
        cfg = dict(QUICK, customers=args.invoices // 10, invoices=args.invoices)
    started = time.perf_counter()
    url, _where = owner_url()
    results = {
        "size": f"{args.invoices} invoices"
        if args.invoices
        else "tiny"
        if args.tiny
        else "quick"
        if args.quick
        else "full",
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg(),
    }
    bench_url = bench_database(url, DB_NAME, args.reuse)
    django_setup(bench_url)
    import psycopg

    from accounts.models import Organization, User
    from bench.reports_data import Size
    from ledger_site.tenancy import tenant_context

    today = date.today()
    if args.reuse:
        owner = User.objects.get(email="bench-owner@example.com")
        with tenant_context(None, owner):
            org = Organization.objects.get(slug="bench-big")
    else:
        owner = User.objects.create_user("bench-owner@example.com", "bench-password-123", full_name="Bench Owner")
        t0 = time.perf_counter()
        org, counts = load_org(
            bench_url,
            owner,
            "Bench Big Co",
            "bench-big",
            Size(cfg["customers"], cfg["invoices"], cfg["whale"]),
            1,
            today,
        )
        results["big_org"] = counts
        results["load_s"] = round(time.perf_counter() - t0, 1)
        with psycopg.connect(bench_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        results["service_activity"] = service_activity(org, owner, cfg["services"], today)
        check_balances(org, owner)
        with psycopg.connect(bench_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    measure(org, owner, cfg["runs"], results, today, [p for p in args.only.split(",") if p])
    results["load_average_after"] = os.getloadavg()
    results["total_s"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"overtime-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=2, default=str))
    print("\n| measurement | median | target (full size) |\n|---|---:|---:|")
    for key in (
        "dashboard_today_s",
        "dashboard_as_of_s",
        "dso_trend_s",
        "dso_page_s",
        "behaviour_all_time_s",
        "behaviour_page_all_time_s",
        "kpis_s",
        "open_items_as_of_s",
        "insights_today_s",
        "insights_as_of_s",
        "forecast_accuracy_s",
        "report_email_summary_pdf_s",
        "report_email_aging_xlsx_s",
        "overview_s",
        "balance_sheet_s",
        "balance_sheet_as_of_s",
        "cash_flow_s",
    ):
        if key not in results:  # left out by --only
            continue
        target = TARGETS.get(key)
        print(f"| {key} | {results[key] * 1000:.0f} ms | {'' if target is None else f'≤ {target * 1000:.0f} ms'} |")
    print(f"\nload average before {results['load_average_before']}, after {results['load_average_after']}")
    if not args.keep and not args.reuse:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
