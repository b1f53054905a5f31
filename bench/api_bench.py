#!/usr/bin/env python
"""API benchmark: create-and-issue an invoice and record a payment through the JSON API under
gunicorn on 127.0.0.1, against the same work through the Python services in one process.

    .venv/bin/python bench/run.py api            # 20 clients × 10 rounds
    .venv/bin/python bench/run.py api --quick    # 20 clients × 3 rounds, a smoke run

On a fresh database `ledgerline_apibench` (or `$API_BENCH_DB`) on the server DATABASE_URL names (or the
embedded one):

1. migrate as the owner; one organization with 200 customers and a read-write API key; ANALYZE;
2. **services, one process**: `invoicing.services.save_draft` + `issue_invoice`, then
   `payments.services.record_payment` (automatic allocation), each in its own transaction,
   one after the other: p50/p99 per operation;
3. **API, one client**: the same through `POST /invoices`, `POST /invoices/{id}/issue` and
   `POST /payments` against gunicorn (loopback only, keep-alive): p50/p99, and the ratio of its
   p50 to the services' (the API's overhead: HTTP, auth and rate-limit row, JSON, validation);
4. **API, 20 concurrent clients** for a bounded number of rounds (no open-ended load): requests
   per second and p50/p99 per operation;
5. verify_ledger on the organization.

The load driver is a few threads with `http.client` (bounded, loopback only, nothing to install);
each client uses its own customers so the rounds measure the API, not lock queues on one customer.
Results are printed and written to bench/results/api-<timestamp>.json and .txt, with `uptime`.
"""

import argparse
import http.client
import json
import os
import platform
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, django_setup, fresh_database, log, owner_sql, owner_url  # noqa: E402

# API_BENCH_DB: another name, so engineers sharing one server do not drop each other's run.
DB_NAME = os.environ.get("API_BENCH_DB", "ledgerline_apibench")
CLIENTS = 20
FULL = {"rounds": 10, "service_rounds": 60, "single_rounds": 60, "paced_seconds": 40}
QUICK = {"rounds": 3, "service_rounds": 20, "single_rounds": 20, "paced_seconds": 10}
# The deployment's sizing (gunicorn.conf.py): a worker process per core, 8 threads each.
WORKERS = os.cpu_count() or 2
THREADS = 8
# Paced clients: each pauses between its requests as a person or a shop's sync job would
# (uniform 0.5-1.5 s, seeded), so the phase measures latency at a steady load, not a queue.
THINK = (0.5, 1.5)


def _pct(values, p):
    values = sorted(values)
    if not values:
        return None
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return round(values[k] * 1000, 1)


def _summary(samples: dict) -> dict:
    return {op: {"n": len(v), "p50_ms": _pct(v, 50), "p99_ms": _pct(v, 99)} for op, v in samples.items()}


def _setup():
    from accounts.api_keys import create_api_key
    from ledger_site.tenancy import tenant_context
    from tests.factories import CustomerFactory, make_org

    org, owner = make_org(name="API bench", slug="api-bench")
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org, credit_limit=Decimal(0)) for _ in range(200)]
        _key, token = create_api_key(org, "bench", "read_write", actor=owner)
    return org, owner, [c.pk for c in customers], token


def _services_round(org, owner, customer_id, samples):
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Customer
    from invoicing.services import issue_invoice, save_draft
    from ledger_site.tenancy import tenant_context
    from payments.services import deposit_accounts, record_payment

    with tenant_context(org, owner):
        customer = Customer.objects.get(pk=customer_id)
        t = time.perf_counter()
        with transaction.atomic():
            fields = {"customer": customer, "issue_date": timezone.localdate(), "due_date": timezone.localdate(),
                      "reference": "", "discount_percent": Decimal(0), "notes": "", "terms": ""}
            lines = [{"description": "Work", "quantity": Decimal(2), "unit": "", "unit_price": Decimal("50.00"),
                      "discount_percent": Decimal(0), "tax_rate": None},
                     {"description": "Parts", "quantity": Decimal(1), "unit": "", "unit_price": Decimal("20.00"),
                      "discount_percent": Decimal(0), "tax_rate": None}]
            invoice = save_draft(org, None, fields, lines, actor=owner)
        samples["draft"].append(time.perf_counter() - t)
        t = time.perf_counter()
        issue_invoice(invoice, actor=owner)
        samples["issue"].append(time.perf_counter() - t)
        t = time.perf_counter()
        record_payment(org, customer, amount=Decimal("120.00"), currency=customer.currency,
                       received_date=timezone.localdate(), method="bank_transfer",
                       deposit_account=deposit_accounts(org).get(system_key="bank"),
                       idempotency_key=f"bench-{time.perf_counter_ns()}", actor=owner)
        samples["payment"].append(time.perf_counter() - t)


class Client:
    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path, body):
        self.conn.request("POST", f"/api/v1{path}", body=json.dumps(body), headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{path}: {response.status} {data[:300]!r}")
        return json.loads(data)


def _api_round(client, customer_id, today, samples, lock, think=None):
    body = {"customer_id": customer_id, "lines": [
        {"description": "Work", "quantity": "2", "unit_price": "50.00"},
        {"description": "Parts", "quantity": "1", "unit_price": "20.00"}]}
    timings = {}
    t = time.perf_counter()
    invoice = client.post("/invoices", body)
    timings["draft"] = time.perf_counter() - t
    if think:
        think()
    t = time.perf_counter()
    client.post(f"/invoices/{invoice['id']}/issue", {})
    timings["issue"] = time.perf_counter() - t
    if think:
        think()
    t = time.perf_counter()
    client.post("/payments", {"customer_id": customer_id, "amount": "120.00", "currency": "EUR",
                              "received_date": today, "method": "bank_transfer"})
    timings["payment"] = time.perf_counter() - t
    with lock:
        for op, value in timings.items():
            samples[op].append(value)
    if think:
        think()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_gunicorn(bench_url, port, workers, threads):
    # Persistent connections (CONN_MAX_AGE) as a deployment would have them; no rate limit here.
    env = dict(os.environ, DATABASE_URL=bench_url, API_RATE_LIMIT="1000000", ALLOWED_HOSTS="127.0.0.1,localhost",
               CONN_MAX_AGE="60", DJANGO_SETTINGS_MODULE="ledger_site.settings")
    env.pop("LEDGER_DB_AS_OWNER", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ledger_site.wsgi", "-c", str(ROOT / "gunicorn.conf.py"),
         "-b", f"127.0.0.1:{port}", "-w", str(workers), "--threads", str(threads),
         "--access-logfile", "/dev/null", "--log-level", "warning"], cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--threads", type=int, default=THREADS)
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    url, where = owner_url()
    log(f"fresh database {DB_NAME} on {where}")
    bench_url = fresh_database(url, DB_NAME)
    django_setup(bench_url)
    from django.db import connection
    from django.utils import timezone

    org, owner, customer_ids, token = _setup()
    owner_sql(bench_url, "ANALYZE")
    today = timezone.localdate().isoformat()

    log(f"services, one process: {size['service_rounds']} rounds")
    services = {"draft": [], "issue": [], "payment": []}
    for i in range(size["service_rounds"]):
        _services_round(org, owner, customer_ids[i % len(customer_ids)], services)
    connection.close()

    port = _free_port()
    server = _start_gunicorn(bench_url, port, args.workers, args.threads)
    try:
        log(f"API, one client: {size['single_rounds']} rounds")
        single = {"draft": [], "issue": [], "payment": []}
        client, lock = Client(port, token), threading.Lock()
        _api_round(client, customer_ids[0], today, {"draft": [], "issue": [], "payment": []}, lock)  # warm up
        for i in range(size["single_rounds"]):
            _api_round(client, customer_ids[i % len(customer_ids)], today, single, lock)

        log(f"API, {CLIENTS} concurrent clients × {size['rounds']} rounds")
        concurrent = {"draft": [], "issue": [], "payment": []}
        barrier = threading.Barrier(CLIENTS)
        errors = []

        def run(n):
            try:
                c = Client(port, token)
                mine = customer_ids[n::CLIENTS]
                barrier.wait()
                for r in range(size["rounds"]):
                    _api_round(c, mine[r % len(mine)], today, concurrent, lock)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=run, args=(n,)) for n in range(CLIENTS)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start

        log(f"API, {CLIENTS} paced clients for {size['paced_seconds']} s (think {THINK[0]}-{THINK[1]} s)")
        paced = {"draft": [], "issue": [], "payment": []}
        stop_at = time.perf_counter() + size["paced_seconds"]

        def run_paced(n):
            try:
                c, rng = Client(port, token), random.Random(n)
                mine = customer_ids[n::CLIENTS]
                time.sleep(rng.uniform(0, THINK[1]))  # clients do not start in lockstep
                def pause():
                    time.sleep(rng.uniform(*THINK))

                r = 0
                while time.perf_counter() < stop_at:
                    _api_round(c, mine[r % len(mine)], today, paced, lock, think=pause)
                    r += 1
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=run_paced, args=(n,)) for n in range(CLIENTS)]
        paced_start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        paced_elapsed = time.perf_counter() - paced_start
    finally:
        server.terminate()
        server.wait(timeout=30)
    if errors:
        print("errors:", errors[:5], file=sys.stderr)
        return 1

    from accounts.ledger_verify import verify_organization
    from ledger_site.tenancy import tenant_context

    with tenant_context(org):
        verified = verify_organization(org)
    requests_done = sum(len(v) for v in concurrent.values())
    s, one = _summary(services), _summary(single)
    # The same work per second: one process running the services back to back (their mean time
    # per round) against the API's rounds per second at 20 clients.
    services_rounds = len(services["issue"]) / sum(sum(v) for v in services.values())
    api_rounds = len(concurrent["issue"]) / elapsed
    paced_all = [x for v in paced.values() for x in v]
    result = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()},
        "gunicorn": {"workers": args.workers, "threads": args.threads}, "clients": CLIENTS, "rounds": size["rounds"],
        "services_one_process": s,
        "api_one_client": one,
        "api_overhead_p50": {op: round(one[op]["p50_ms"] / s[op]["p50_ms"] - 1, 2) for op in s},
        "api_concurrent": {**_summary(concurrent), "requests": requests_done, "seconds": round(elapsed, 2),
                           "requests_per_second": round(requests_done / elapsed, 1),
                           "create_and_issue_per_second": round(len(concurrent["issue"]) / elapsed, 1),
                           "payments_per_second": round(len(concurrent["payment"]) / elapsed, 1)},
        "throughput": {"services_rounds_per_second": round(services_rounds, 1),
                       "api_rounds_per_second_20_clients": round(api_rounds, 1),
                       "api_overhead": round(services_rounds / api_rounds - 1, 2)},
        "api_paced": {**_summary(paced), "all": {"n": len(paced_all), "p50_ms": _pct(paced_all, 50),
                                                 "p99_ms": _pct(paced_all, 99)},
                      "seconds": round(paced_elapsed, 1),
                      "requests_per_second": round(len(paced_all) / paced_elapsed, 1), "think_seconds": THINK},
        "verify_ledger_ok": verified.ok,
    }
    text = json.dumps(result, indent=2)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"api-{stamp}.json").write_text(text)
    (RESULTS / f"api-{stamp}.txt").write_text(text)
    return 0 if verified.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
