"""gunicorn's configuration (docker-compose.yml's web service; `gunicorn ledger_site.wsgi -c gunicorn.conf.py`).

Sizing (issue 23, measured with bench/web_bench.py; figures in docs/ledger_performance.md, "Web
tier"): a page spends a large share of its time waiting on PostgreSQL (its own backend process),
so a worker process per core with threads keeps the cores busy while a request waits on the
database, without the memory of more processes. On the 2-core machine, 8 loopback clients, two
runs in opposite orders: 2 workers x 8 threads served 3.8-4.2 requests/s of the mix, x 4 threads
3.2-3.4, x 1 thread 2.4-2.5, 4 x 2 2.5, the old 3 sync workers without persistent connections
2.2-4.6 (the machine's load was 11-17 from other work, so these are rough). WEB_CONCURRENCY /
WEB_THREADS override the defaults.
"""

import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", 8))
worker_class = "gthread"
# A worker thread holds its database connection for CONN_MAX_AGE (ledger_site/database.py):
# workers x threads connections at most, which PgBouncer (docker-compose.yml) pools.
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycle workers now and then (memory of long-lived processes)
max_requests_jitter = 500
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
