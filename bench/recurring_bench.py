#!/usr/bin/env python
"""Recurring invoices benchmark: one night's run billing N monthly schedules through the same path
as the worker (invoicing.recurring.run_due: lock the schedule, save_draft, issue_invoice with its
number, posting and PDF-render task row, the run row).

    .venv/bin/python bench/run.py recurring             # 20,000 schedules (the issue's target size)
    .venv/bin/python bench/run.py recurring --quick     # 500 schedules
    .venv/bin/python bench/run.py recurring --schedules 2000

On a fresh database (DB_NAME; DATABASE_URL's server): one organization, one customer per 10
schedules, each schedule two lines (one taxed); schedules are bulk-created as the application
role. Then run_due is timed once (every schedule due today), checked (each billed once, numbers
gapless), and timed again (the steady state: nothing due). Prints schedules per second.

Baseline, same run: a second organization with the same kind of schedules (a tenth of N, at least
100, at most 1,000) billed one schedule at a time through `recurring.run_schedule` (save_draft and
issue_invoice per invoice: the path every schedule took before the batches, and still the path of
"Bill what is due now" and of the cases the batch leaves to it).
"""

import argparse
import os
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    django_setup,  # noqa: E402
    drop_database,
    fresh_database,
    log,
    owner_url,
)

# RECURRING_BENCH_DB: give each checkout its own database (several engineers share a server).
DB_NAME = os.environ.get("RECURRING_BENCH_DB", "ledgerline_recbench")


def make_schedules(n: int, slug: str, today: date):
    from accounts.models import Customer, User
    from accounts.services import create_organization
    from invoicing.models import TaxRate
    from invoicing.models_recurring import RecurringLine, RecurringSchedule
    from ledger_site.tenancy import tenant_context

    owner = User.objects.create_user(f"{slug}@example.com", "x" * 12)
    org = create_organization(owner, name=f"Recurring Bench {slug}", slug=slug, base_currency="EUR")
    with tenant_context(org, owner):
        customers = Customer.objects.bulk_create(
            [Customer(organization=org, name=f"Customer {i:05d}", code=f"C{i:05d}", currency="EUR")
             for i in range(max(1, n // 10))], batch_size=2000)
        rate = TaxRate.objects.filter(organization=org, name="Standard").first()
        schedules = RecurringSchedule.objects.bulk_create(
            [RecurringSchedule(organization=org, customer=customers[i % len(customers)], name=f"S{i}",
                               frequency="monthly", day_of_month=1, start_date=today, action="issue",
                               payment_terms_days=14) for i in range(n)], batch_size=2000)
        RecurringLine.objects.bulk_create(
            [RecurringLine(organization=org, schedule=s, position=p, description=d, quantity=Decimal(1),
                           unit_price=Decimal(price), tax_rate=rate if p == 1 else None)
             for s in schedules for p, d, price in ((1, "Support {month}", "250.00"), (2, "Hosting", "19.90"))],
            batch_size=5000)
    return org, owner, [s.pk for s in schedules]


def baseline(n: int, today: date) -> float:
    """Schedules per second, one schedule at a time (run_schedule), on a second organization."""
    from invoicing.recurring import run_schedule
    from ledger_site.tenancy import tenant_context

    org, owner, ids = make_schedules(n, "recbase", today)
    log(f"baseline: {n} schedules one at a time")
    started = time.perf_counter()
    with tenant_context(org):
        made = sum(len(run_schedule(pk, today)) for pk in ids)
    assert made == n
    return round(n / (time.perf_counter() - started), 1)


def run(n: int) -> dict:
    from invoicing.models import Invoice
    from invoicing.models_recurring import RecurringRun
    from invoicing.recurring import run_due
    from ledger_site.tenancy import tenant_context

    today = date.today().replace(day=1)
    base_n = min(1000, max(100, n // 10))
    base_rate = baseline(base_n, today)
    org, owner, _ids = make_schedules(n, "recbench", today)
    log(f"{n} schedules created; billing")
    started = time.perf_counter()
    result = run_due(today=today, org_ids=[org.pk])
    seconds = time.perf_counter() - started
    steady_started = time.perf_counter()
    again = run_due(today=today, org_ids=[org.pk])
    steady = time.perf_counter() - steady_started
    with tenant_context(org, owner):
        runs = RecurringRun.objects.filter(status="issued").count()
        numbers = sorted(int(x.rsplit("-", 1)[1]) for x in Invoice.objects.values_list("number", flat=True))
    assert runs == n and len(result.runs) == n and not again.runs, (runs, len(result.runs), len(again.runs))
    assert numbers == list(range(1, n + 1)), "numbers are not gapless"
    return {"schedules": n, "seconds": round(seconds, 2), "per_second": round(n / seconds, 1),
            "steady_state_seconds": round(steady, 2), "baseline_schedules": base_n, "baseline_per_second": base_rate}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--schedules", type=int)
    args = parser.parse_args(argv)
    n = args.schedules or (500 if args.quick else 20_000)
    url, where = owner_url()
    print(f"database: {where} (benchmark database {DB_NAME})", flush=True)
    bench_url = fresh_database(url, DB_NAME)
    try:
        django_setup(bench_url)
        figures = run(n)
        log(f"billed {figures['schedules']} schedules in {figures['seconds']} s: {figures['per_second']} "
            f"schedules (invoices issued) per second; the next run (nothing due) took "
            f"{figures['steady_state_seconds']} s; baseline (one schedule at a time, "
            f"{figures['baseline_schedules']} schedules, same run): {figures['baseline_per_second']} per second")
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url, DB_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
