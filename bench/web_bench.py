#!/usr/bin/env python
"""Web tier benchmark (issue 23): gunicorn on loopback with closed-loop clients over a mix of
pages, for several worker/thread/connection settings in the same run, on a kept reports-benchmark
database (see bench/scale_bench.py for loading one).

    SCALE_BENCH_DB=ll_scale_bench100k .venv/bin/python bench/run.py web [--seconds 20] [--clients 8]

Each configuration: gunicorn.conf.py with WEB_CONCURRENCY / WEB_THREADS / CONN_MAX_AGE set, warmed
up, then `--clients` loopback clients (no pause) request the mix in turn for `--seconds`:
requests/s and p50/p95 per configuration, plus `uptime` around each. Configurations are run
in turn, so they see the same machine; the first is the baseline (the pre-issue-23 deployment:
3 sync workers, a new database connection per request).
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, django_setup, log, owner_url, with_db  # noqa: E402

CONFIGS = [  # (label, workers, threads, CONN_MAX_AGE, worker class)
    ("sync 3 workers, CONN_MAX_AGE=0 (before)", 3, 1, 0, "sync"),
    ("gthread 2x1, CONN_MAX_AGE=60", 2, 1, 60, "gthread"),
    ("gthread 2x4, CONN_MAX_AGE=60", 2, 4, 60, "gthread"),
    ("gthread 2x8, CONN_MAX_AGE=60", 2, 8, 60, "gthread"),
    ("gthread 4x2, CONN_MAX_AGE=60", 4, 2, 60, "gthread"),
]


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.split("load average:")[-1].strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_cookie(owner) -> str:
    """A signed-in session for the owner, stored the way signing in stores it."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(owner)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def start(bench_url, port, workers, threads, max_age, worker_class):
    env = dict(os.environ, DATABASE_URL=bench_url, CONN_MAX_AGE=str(max_age),
               WEB_CONCURRENCY=str(workers), WEB_THREADS=str(threads), WEB_ACCESS_LOG="/dev/null",
               WEB_BIND=f"127.0.0.1:{port}", DJANGO_SETTINGS_MODULE="ledger_site.settings")
    env.pop("LEDGER_DB_AS_OWNER", None)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "ledger_site.wsgi", "-c", "gunicorn.conf.py",
                                "-k", worker_class, "--log-level", "warning"], cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def run_clients(port, cookie, paths, clients, seconds):
    samples, errors, lock = [], [], threading.Lock()
    stop = time.perf_counter() + seconds

    def client(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = n
        while time.perf_counter() < stop:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}", "Host": "127.0.0.1"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException) as e:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                response = e
            elapsed = time.perf_counter() - t0
            with lock:
                if ok:
                    samples.append(elapsed)
                else:
                    errors.append(f"{path}: {getattr(response, 'status', response)}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, errors, time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--configs", default="", help="comma-separated indexes of CONFIGS (default: all)")
    args = parser.parse_args(argv)
    db = os.environ.get("SCALE_BENCH_DB", "ll_scale_bench100k")
    url, _where = owner_url()
    bench_url = with_db(url, db)
    # Production-like settings, the same in this process (which signs the session) and in gunicorn.
    os.environ.update(DEBUG="False", PRODUCTION="False", SECRET_KEY="web-bench-" + "k" * 60,
                      ALLOWED_HOSTS="127.0.0.1,localhost,testserver")
    django_setup(bench_url)
    from django.db import connection
    from django.urls import reverse

    from accounts.models import Customer, Organization, User
    from invoicing.models import Invoice
    from ledger_site.tenancy import tenant_context

    owner = User.objects.get(email="bench-owner@example.com")
    with tenant_context(None, owner):
        org = Organization.objects.get(slug="bench-big")
    with tenant_context(org, owner):
        customer = Customer.objects.filter(organization=org).order_by("pk")[100]
        invoice = Invoice.objects.filter(organization=org, customer=customer).order_by("pk").first()
    cookie = session_cookie(owner)
    connection.close()

    def u(name, **kw):
        return reverse(name, kwargs={"org_slug": org.slug, **kw})

    mixes = {
        "light": [u("report_index"), u("customer_detail", pk=customer.pk), u("invoice_detail", pk=invoice.pk),
                  u("credit_control"), u("payment_list"), u("invoice_list")],
    }
    chosen = [CONFIGS[int(i)] for i in args.configs.split(",")] if args.configs else CONFIGS
    results = {"db": db, "clients": args.clients, "seconds": args.seconds, "runs": []}
    for label, workers, threads, max_age, worker_class in chosen:
        port = free_port()
        server = start(bench_url, port, workers, threads, max_age, worker_class)
        try:
            for mix, paths in mixes.items():
                run_clients(port, cookie, paths, args.clients, 3)  # warm up
                before = load()
                samples, errors, elapsed = run_clients(port, cookie, paths, args.clients, args.seconds)
                samples.sort()
                row = {"config": label, "mix": mix, "requests": len(samples), "errors": len(errors),
                       "rps": round(len(samples) / elapsed, 1),
                       "p50_ms": round(statistics.median(samples) * 1000) if samples else None,
                       "p95_ms": round(samples[int(len(samples) * 0.95)] * 1000) if samples else None,
                       "load_before": before, "load_after": load()}
                if errors:
                    row["first_errors"] = errors[:3]
                results["runs"].append(row)
                log(json.dumps(row))
        finally:
            server.terminate()
            server.wait(timeout=30)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"web-{db}-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=2))
    print("\n| configuration | mix | req/s | p50 ms | p95 ms | errors | load before → after |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in results["runs"]:
        print(f"| {r['config']} | {r['mix']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} | {r['errors']} | "
              f"{r['load_before']} → {r['load_after']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
