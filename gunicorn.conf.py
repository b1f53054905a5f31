"""gunicorn's configuration (docker-compose.yml's web service; `gunicorn ledger_site.wsgi -c gunicorn.conf.py`).

Sizing (issue 23, measured with bench/web_bench.py; figures in docs/ledger_performance.md, "Web
tier"): a page spends a large share of its time waiting on PostgreSQL, so a worker process per
core with a few threads each keeps the cores busy while a request waits on the database, without
the memory of more processes. Threads share the process's GIL, so more threads than that add
queueing, not throughput. WEB_CONCURRENCY / WEB_THREADS override the measured defaults.
"""

import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", 4))
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
