"""Where the time of one issue goes: N drafts issued one by one as the owner (as the PDF bench
does), each step of invoicing.services.issue_invoice timed (wall and this process's CPU).

    .venv/bin/python bench/run.py issuing_steps          # 20 to warm up, then 400 issues
    .venv/bin/python bench/run.py issuing_steps --quick  # 100
    .venv/bin/python bench/run.py issuing_steps --no-analyze  # without statistics (autovacuum off)

Fresh database `ledgerline_issuebench`; after making the drafts, ANALYZE (as autovacuum would
have). Prints a table; a profiling aid, so it writes no results file.
"""

import argparse
import collections
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import django_setup, drop_database, fresh_database, owner_sql, owner_url  # noqa: E402

DB_NAME = os.environ.get("ISSUE_BENCH_DB", "ledgerline_issuebench")
LINES = [("Consulting", "2", "100.00"), ("Hosting", "1", "49.00"), ("Support", "3", "25.00")]


class StepClock:
    """Wraps module functions so that each call adds its wall and CPU time to a named step."""

    def __init__(self):
        self.wall, self.cpu = collections.Counter(), collections.Counter()

    def wrap(self, module, name: str, step: str) -> None:
        inner = getattr(module, name)

        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self.wall[step] += time.perf_counter() - wall
                self.cpu[step] += time.process_time() - cpu

        setattr(module, name, timed)


def run(count: int, bench_url: str, analyze: bool) -> None:
    from django.db import connection

    from bench.pdf_bench import make_draft, make_world
    from invoicing import documents, issuing, services
    from ledger_site.tenancy import tenant_context

    clock = StepClock()
    clock.wrap(issuing, "load_draft", "load_draft: one pipeline, four statements")
    clock.wrap(services, "take_number", "the number (series upsert)")
    clock.wrap(services.ledger, "post", "ledger posting")
    clock.wrap(documents, "render_task_row", "render task package")
    clock.wrap(issuing, "store_issued", "store_issued: update, event, task row")
    clock.wrap(connection, "commit", "COMMIT")
    org, owner, customer = make_world()
    with tenant_context(org, owner):
        drafts = [make_draft(org, customer, LINES) for _ in range(count + 20)]
        if analyze:
            owner_sql(bench_url, "ANALYZE")
        for draft in drafts[:20]:
            services.issue_invoice(draft, actor=owner)
        clock.wall.clear()
        clock.cpu.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        for draft in drafts[20:]:
            services.issue_invoice(draft, actor=owner)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{count} issues{'' if analyze else ' (no ANALYZE)'}: {count / wall:.0f} /s, "
          f"{wall / count * 1000:.2f} ms each, load average {os.getloadavg()[0]:.1f}\n")
    print(f"{'step':<45} {'wall ms':>8} {'CPU ms':>8}")
    for step in clock.wall:
        print(f"{step:<45} {clock.wall[step] / count * 1000:>8.2f} {clock.cpu[step] / count * 1000:>8.2f}")
    rest_wall = wall - sum(clock.wall.values())
    rest_cpu = cpu - sum(clock.cpu.values())
    rest = "totals, snapshot, hashing, the rest"
    print(f"{rest:<45} {rest_wall / count * 1000:>8.2f} {rest_cpu / count * 1000:>8.2f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-analyze", action="store_true")
    args = parser.parse_args(argv)
    url, where = owner_url()
    print(f"database: {where} (benchmark database {DB_NAME})", flush=True)
    bench_url = fresh_database(url, DB_NAME)
    try:
        django_setup(bench_url)
        run(100 if args.quick else 400, bench_url, not args.no_analyze)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url, DB_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
