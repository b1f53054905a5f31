"""Issue 17 benchmark: aging and dashboard in the base currency against the per-currency figures,
measured in the same run on the same data.

    .venv/bin/python bench/run.py fx --quick   # 3,000 customers, 30,000 invoices (a few minutes)
    .venv/bin/python bench/run.py fx           # 100,000 customers, 1,000,000 invoices (the issue's size;
                                               # about 15 minutes to load on 2 cores)

What it does, on a fresh database `ledgerline_fxbench` (FX_BENCH_DB) on the server DATABASE_URL names:
1. loads one organization like bench/reports_bench.py (bench/reports_data.py: journal through the
   bulk door, documents with COPY), all in EUR;
2. baseline: the aging (all customers, first page by name) in EUR, where every item is EUR, and the
   dashboard (build) in EUR;
3. spreads the customers and their invoices, payments and credit notes over 10 currencies
   (customer id modulo 10; as the database owner, an UPDATE with triggers off: the journal stays in
   EUR), re-derives the maintained summaries from the documents (reports.summaries.rebuild: the
   triggers that keep them were off, and today's aging reads them), and writes 400 days of rates;
4. measures the aging in the base currency (every item converted at the as-of date's rates) over
   the very same items, and the dashboard in the base currency, then the per-currency aging of one
   of the 10 currencies;
5. prints the ratios (target: base ≤ 1.5 × baseline) and writes bench/results/fx-<stamp>.json.
Not run by `make test`.
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    RESULTS,
    bench_database,
    django_setup,
    drop_database,
    owner_sql,
    owner_url,
)
from bench.reports_bench import FULL, QUICK, load_org, timed  # noqa: E402

DB_NAME = os.environ.get("FX_BENCH_DB", "ledgerline_fxbench")  # FX_BENCH_DB: another name per engineer
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "INR"]
TARGET = 1.5
RATE_DAYS = 400  # the dashboard converts twelve months of flows at their own day's rates


def spread_currencies(bench_url: str, org_id: int) -> None:
    cases = " ".join(f"WHEN {n} THEN '{c}'" for n, c in enumerate(CURRENCIES))
    statements = ["SET session_replication_role = replica"]  # no triggers: a bench-only rewrite
    for table, key in [("accounts_customer", "id"), ("invoicing_invoice", "customer_id"),
                       ("payments_payment", "customer_id"), ("invoicing_creditnote", "customer_id")]:
        statements.append(f"UPDATE {table} SET currency = CASE ({key} % 10) {cases} END "
                          f"WHERE organization_id = {int(org_id)}")
    owner_sql(bench_url, *statements, "ANALYZE")


def write_rates(org, today: date) -> None:
    from accounts import fx
    from accounts.models import RateSource

    rows = []
    for n, code in enumerate(CURRENCIES[1:], start=1):
        for back in range(RATE_DAYS):
            rows.append(fx.RateRow(today - timedelta(days=back), code, Decimal(n) / Decimal(7)))
    fx.save_rates(org, rows, RateSource.MANUAL, confirm=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database (still all in EUR) again")
    # Any kept database of the reports benchmark's shape, e.g. the overtime bench's 1M one:
    # FX_BENCH_DB=ll_1m_fx ... --reuse --org bench-big --owner bench-owner@example.com (it spreads that copy).
    parser.add_argument("--org", default="fx-bench", help="with --reuse: the organization's slug")
    parser.add_argument("--owner", default="fx-bench@example.com", help="with --reuse: its owner's e-mail")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    url, where = owner_url()
    results = {"size": "quick" if args.quick else "full", "machine": platform.platform(), "server": where,
               "load_average": os.getloadavg()}
    bench_url = bench_database(url, DB_NAME, args.reuse)
    django_setup(bench_url)
    from accounts.models import User
    from bench.reports_data import Size
    from ledger_site.tenancy import tenant_context
    from reports import dashboard as dash
    from reports.aging import aging, base_rates, query_for

    today = date.today()
    if args.reuse:
        from accounts.models import Organization

        owner = User.objects.get(email=args.owner)
        with tenant_context(None, owner):
            org = Organization.objects.get(slug=args.org)
    else:
        owner = User.objects.create_user("fx-bench@example.com", "bench-password-123", full_name="FX Bench")
        org, counts = load_org(bench_url, owner, "FX Bench Co", "fx-bench",
                               Size(cfg["customers"], cfg["invoices"], 0), 1, today)
        results["org"] = counts
    results["invoices"] = owner_sql(bench_url,
                                    f"SELECT count(*) FROM invoicing_invoice WHERE organization_id = {org.pk}")
    owner_sql(bench_url, "VACUUM ANALYZE")
    runs = cfg["runs"]
    with tenant_context(org, owner):
        med, best, base_report = timed(lambda: aging(org, query_for(org, today)), runs)
        results["aging_one_currency_s"] = round(med, 4)
        results["aging_items_total"] = str(base_report.everything.total)
        med, best, _ = timed(lambda: dash.build(org, "EUR", today), runs)
        results["dashboard_one_currency_s"] = round(med, 4)
    spread_currencies(bench_url, org.pk)
    with tenant_context(org, owner):
        from django.db import transaction

        from reports import summaries

        with transaction.atomic():
            summaries.rebuild(org)  # the spread bypassed the triggers: the summaries still said EUR
        owner_sql(bench_url, "VACUUM ANALYZE")
        write_rates(org, today)
        rates = {c: r for c, r in base_rates(org, today).items()}
        for code in CURRENCIES:  # the journal still says EUR only: name the 10 currencies' rates here
            if code not in rates:
                from accounts import fx

                rates[code] = fx.rate_on(org, code, today)
        # The dashboard finds the currencies in the journal's day totals (EUR only here): name the 10.
        import reports.asof

        reports.asof.org_currencies = lambda _org: list(CURRENCIES)
        med, best, report = timed(lambda: aging(org, query_for(org, today, in_base=True, rates=rates)), runs)
        results["aging_base_10_currencies_s"] = round(med, 4)
        results["aging_base_customers"] = report.row_count
        med, best, _ = timed(lambda: aging(org, query_for(org, today, currency="USD")), runs)
        results["aging_per_currency_usd_s"] = round(med, 4)
        med, best, _ = timed(lambda: dash.build(org, "EUR", today, in_base=True), runs)
        results["dashboard_base_s"] = round(med, 4)
        print(json.dumps(results, default=str), flush=True)  # the figures so far, should a later step fail
    results["aging_ratio"] = round(results["aging_base_10_currencies_s"] / results["aging_one_currency_s"], 2)
    results["dashboard_ratio"] = round(results["dashboard_base_s"] / results["dashboard_one_currency_s"], 2)
    results["load_average_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"fx-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=2, default=str))
    for key in ["aging_one_currency_s", "aging_base_10_currencies_s", "aging_per_currency_usd_s", "aging_ratio",
                "dashboard_one_currency_s", "dashboard_base_s", "dashboard_ratio"]:
        print(f"{key:32} {results[key]}")
    print(f"target: base ≤ {TARGET} × one currency; load average {results['load_average']}")
    if not args.keep and not args.reuse:
        from django.db import connections

        connections.close_all()
        drop_database(url, DB_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
