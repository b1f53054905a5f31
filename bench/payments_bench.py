#!/usr/bin/env python
"""Payments benchmark: recording and auto-allocating payments for a customer with 1,000+ open
invoices, and the allocation screen's query count and time.

    .venv/bin/python bench/payments_bench.py            # 1,600 open invoices, 300 payments
    .venv/bin/python bench/payments_bench.py --quick    # a smoke run (1,000 invoices, 60 payments)

What it does, in order, on a fresh database `ledgerline_paybench` on the server DATABASE_URL names
(or the embedded PostgreSQL in .pgdata/ when DATABASE_URL is unset):

1. drop and create the database and migrate it as the owner; then work as the application role
   under row-level security, exactly like the product;
2. one organization, one customer, N invoices issued through `invoicing.services.issue_invoice`
   (one to four lines, due dates spread over the past year and the next month), plus 200 other
   customers with a few invoices each so the tables are not trivially small; then ANALYZE;
3. P payments recorded one after the other through `payments.services.record_payment` with
   automatic allocation (oldest due first), each in its own transaction like a request; amounts
   vary from half an invoice to about three invoices, so each pays 1-4 invoices and the customer
   always keeps at least 1,000 open invoices. Reports payments/s and p50/p95/p99 latency;
4. the "Record a payment" screen for that customer (GET with ?customer=, and a Preview POST)
   through Django's test client: the number of SQL queries and the median / p95 time over 30
   requests each, and the EXPLAIN of the open-invoice query;
5. verify_ledger on the organization, and the invariants (Σ allocations, amounts due).

Results are printed and written to bench/results/payments-<timestamp>.json and .txt.
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, django_setup, fresh_database, owner_sql, owner_url, with_db  # noqa: E402

DB_NAME = "ledgerline_paybench"
FULL = {"invoices": 1600, "payments": 300, "others": 200, "requests": 30}
QUICK = {"invoices": 1000, "payments": 60, "others": 20, "requests": 10}
SEED = 5


def server_facts(bench_url: str) -> dict:
    import psycopg

    with psycopg.connect(bench_url) as conn:
        return {s: conn.execute(f"SHOW {s}").fetchone()[0]
                for s in ("server_version", "shared_buffers", "synchronous_commit", "fsync")}


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def load(sizes, rng):
    """The organization, the big customer with its invoices, and some other customers."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Customer, User
    from accounts.services import create_organization
    from invoicing.models import TaxRate
    from invoicing.services import issue_invoice, save_draft
    from ledger_site.tenancy import tenant_context

    owner = User.objects.create_user("bench@example.com", "bench-password-1", full_name="Bench Owner")
    org = create_organization(owner, name="Bench Co", slug="bench", base_currency="EUR", country="IE")
    today = timezone.localdate()
    with tenant_context(org, owner):
        rate = TaxRate.objects.filter(organization=org, name="Standard").first()
        big = Customer.objects.create(organization=org, name="Big Customer Ltd", code="BIG", currency="EUR",
                                      payment_terms_days=30)
        others = [Customer.objects.create(organization=org, name=f"Other {n}", code=f"OTH{n:04d}", currency="EUR")
                  for n in range(sizes["others"])]

        def invoice(customer, issue):
            lines = [{"description": f"Item {k}", "quantity": Decimal(rng.randint(1, 5)), "unit": "",
                      "unit_price": Decimal(rng.randint(1000, 40000)) / 100, "discount_percent": Decimal(0),
                      "tax_rate": rate} for k in range(rng.randint(1, 4))]
            with transaction.atomic():
                draft = save_draft(org, None, {"customer": customer, "issue_date": issue,
                                               "due_date": issue + timedelta(days=30), "reference": "",
                                               "discount_percent": Decimal(0), "notes": "", "terms": ""}, lines)
                return issue_invoice(draft, actor=owner, credit_control=False)  # loading a year of history

        started = time.perf_counter()
        for n in range(sizes["invoices"]):
            invoice(big, today - timedelta(days=400) + timedelta(days=n * 420 // sizes["invoices"]))
        for customer in others:
            for _ in range(3):
                invoice(customer, today - timedelta(days=rng.randint(0, 300)))
        load_seconds = time.perf_counter() - started
    return org, owner, big, load_seconds


def measure_payments(org, owner, big, sizes, rng):
    from django.db import connection, transaction
    from django.db.models import Avg
    from django.utils import timezone

    from accounts.chart import system_accounts
    from invoicing.models import Invoice
    from ledger_site.tenancy import tenant_context
    from payments.models import Allocation
    from payments.services import record_payment

    with tenant_context(org, owner):
        bank = system_accounts(org)["bank"]
        typical = Invoice.objects.filter(customer=big).aggregate(a=Avg("total"))["a"]
    times, allocations = [], 0
    today = timezone.localdate()
    for _ in range(sizes["payments"]):
        amount = (typical * Decimal(rng.uniform(0.5, 3.0))).quantize(Decimal("0.01"))
        with tenant_context(org, owner):
            t0 = time.perf_counter()
            with transaction.atomic():
                payment = record_payment(org, big, amount=amount, currency="EUR", received_date=today,
                                         method="bank_transfer", deposit_account=bank,
                                         idempotency_key=uuid.uuid4().hex, actor=owner, allocation="auto")
            times.append(time.perf_counter() - t0)
            allocations += Allocation.objects.filter(payment=payment).count()
    total = sum(times)
    with tenant_context(org, owner), connection.cursor():
        still_open = Invoice.objects.filter(customer=big).open().count()
    return {
        "payments": len(times), "seconds": round(total, 3), "payments_per_s": round(len(times) / total, 1),
        "p50_ms": ms(statistics.median(times)), "p95_ms": ms(pct(times, 95)), "p99_ms": ms(pct(times, 99)),
        "allocations_per_payment": round(allocations / len(times), 2), "open_invoices_after": still_open,
    }


def measure_screen(org, owner, big, sizes):
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from invoicing.models import Invoice
    from ledger_site.tenancy import tenant_context

    client = Client()
    client.force_login(owner)
    url = reverse("payment_create", kwargs={"org_slug": org.slug}) + f"?customer={big.pk}"
    with tenant_context(org, owner):
        open_count = Invoice.objects.filter(customer=big).open().count()
        bank = org.accounts.get(system_key="bank").pk
    client.get(url)  # warm up
    results = {"open_invoices": open_count}
    for label, call in (
        ("get", lambda: client.get(url)),
        ("preview", lambda: client.post(reverse("payment_create", kwargs={"org_slug": org.slug}), {
            "customer": big.pk, "amount": "5000.00", "currency": "EUR", "received_date": datetime.now().date(),
            "method": "bank_transfer", "deposit_account": bank, "mode": "auto",
            "idempotency_key": uuid.uuid4().hex, "action": "preview"})),
    ):
        captured = []

        def count(execute, sql, params, many, context, captured=captured):
            captured.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = call()
        assert response.status_code == 200, response.status_code
        listed = response.content.count(b'<tr class="alloc-row')
        assert listed == open_count, (listed, open_count)
        times = []
        for _ in range(sizes["requests"]):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        results[label] = {"queries": len(captured), "median_ms": ms(statistics.median(times)),
                          "p95_ms": ms(pct(times, 95)), "html_kb": round(len(response.content) / 1024, 1)}
    with tenant_context(org, owner), connection.cursor() as cursor:
        from payments.services import open_invoices

        sql, params = open_invoices(big).query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        results["open_invoice_plan"] = [row[0] for row in cursor.fetchall()]
    return results


def check(org):
    from django.db.models import F, Sum

    from accounts.ledger_verify import verify_organization
    from invoicing.models import Invoice
    from ledger_site.tenancy import tenant_context
    from payments.models import Allocation, Payment

    with tenant_context(org):
        result = verify_organization(org)
        over = Payment.objects.filter(amount_allocated__gt=F("amount") - F("amount_refunded")).count()
        negative = Invoice.objects.filter(amount_due__lt=0).count()
        allocated = Allocation.objects.filter(payment__isnull=False).aggregate(s=Sum("amount"))["s"] or 0
        maintained = Payment.objects.aggregate(s=Sum("amount_allocated"))["s"] or 0
    return {"verify_ok": result.ok, "entries": result.entries, "overallocated_payments": over,
            "negative_amounts_due": negative, "allocations_match": allocated == maintained}


def report(r: dict) -> str:
    p, s = r["payments"], r["screen"]
    lines = [
        f"Payments benchmark · {r['when']} · {r['where']} (PostgreSQL {r['database']['server_version']}, "
        f"shared_buffers {r['database']['shared_buffers']}, synchronous_commit "
        f"{r['database']['synchronous_commit']}) · {r['machine']['cpus']} CPUs · Python {r['machine']['python']}",
        f"machine load average (1, 5, 15 min) before {r['machine']['load_before']}, after "
        f"{r['machine'].get('load_after')}: other work on the machine shows in the latencies",
        f"load: {r['sizes']['invoices']} invoices for one customer + {r['sizes']['others'] * 3} for "
        f"{r['sizes']['others']} others through issue_invoice in {r['load_seconds']:.1f} s, then ANALYZE",
        "",
        f"record + auto-allocate   {p['payments_per_s']:>8} payments/s   p50 {p['p50_ms']} ms · p95 {p['p95_ms']} ms · "
        f"p99 {p['p99_ms']} ms   ({p['payments']} payments, {p['allocations_per_payment']} invoices each, "
        f"{p['open_invoices_after']} still open after)",
        f"allocation screen (GET)  {s['get']['queries']:>3} queries   median {s['get']['median_ms']} ms · "
        f"p95 {s['get']['p95_ms']} ms   ({s['open_invoices']} open invoices listed, {s['get']['html_kb']} KB)",
        f"allocation preview (POST){s['preview']['queries']:>3} queries   median {s['preview']['median_ms']} ms · "
        f"p95 {s['preview']['p95_ms']} ms",
        "open-invoice query plan: " + " | ".join(line.strip() for line in s["open_invoice_plan"][:3]),
        f"checks: verify_ledger {'OK' if r['checks']['verify_ok'] else 'FAILED'} ({r['checks']['entries']} entries), "
        f"over-allocated payments {r['checks']['overallocated_payments']}, negative amounts due "
        f"{r['checks']['negative_amounts_due']}, allocations = maintained {r['checks']['allocations_match']}",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run at a small size")
    parser.add_argument("--invoices", type=int, help="open invoices of the measured customer")
    parser.add_argument("--payments", type=int, help="payments to record")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    if args.invoices:
        sizes["invoices"] = args.invoices
    if args.payments:
        sizes["payments"] = args.payments

    url, where = owner_url()
    print(f"database: {where}; fresh database {DB_NAME} …", flush=True)
    bench_url = fresh_database(url, DB_NAME)
    try:
        django_setup(bench_url)
        rng = random.Random(SEED)
        org, owner, big, load_seconds = load(sizes, rng)
        print(f"loaded in {load_seconds:.1f} s; ANALYZE …", flush=True)
        owner_sql(bench_url, "ANALYZE")
        results = {
            "when": datetime.now().isoformat(timespec="seconds"), "where": where, "sizes": sizes,
            "database": server_facts(bench_url), "load_seconds": round(load_seconds, 1),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                        "load_before": [round(x, 2) for x in os.getloadavg()]},
        }
        results["payments"] = measure_payments(org, owner, big, sizes, rng)
        owner_sql(bench_url, "ANALYZE")
        results["screen"] = measure_screen(org, owner, big, sizes)
        results["checks"] = check(org)
        results["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            import psycopg
            from psycopg import sql

            with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME)))
    text = report(results)
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"payments-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / f"payments-{stamp}.txt").write_text(text + "\n")
    print(f"\nresults: {RESULTS / f'payments-{stamp}.json'}")
    ok = results["checks"]
    return 0 if ok["verify_ok"] and not ok["overallocated_payments"] and not ok["negative_amounts_due"] else 1


if __name__ == "__main__":
    sys.exit(main())
