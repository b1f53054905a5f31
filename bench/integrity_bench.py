"""Integrity benchmark (issue 13): the full verify_ledger at size with documents, and the
incremental check after 1,000 new entries, with same-run baselines.

    .venv/bin/python bench/run.py integrity            # 300,000 invoices + 35,000 entries (~1,000,000 lines)
    .venv/bin/python bench/run.py integrity --quick    # 2,000 invoices + 5,000 entries, a smoke run
    .venv/bin/python bench/run.py integrity --db-name ll_b_x --keep    # load once and keep the database
    .venv/bin/python bench/run.py integrity --db-name ll_b_x --reuse   # measure the kept one again (+1,000 entries)

On a fresh database (`--db-name`, default ledgerline_integrity_bench) on the server DATABASE_URL
names, as the application role under row-level security:

1. one organization, 10,000 customers; `documents` invoices of two lines each (one taxed at 20 %),
   issued and sealed, written set-based by the invoices importer's own writer in batches
   (bench/integrity_data.py: one issue entry of three lines per invoice, posted through the bulk
   door, lines and invoices by COPY, each invoice sealed by its statement trigger with its lines);
   then `entries` entries loaded through
   the bulk door (`accounts.ledger_bulk.bulk_post`, the same hash chain), in batches; VACUUM (ANALYZE);
2. the full check (`verify_organization`: the journal, the seal chain, every document re-derived
   to its seal, the never-sealed scan and the sub-ledger): a first run (sets hint bits), then the
   median of two; recorded as a clean check, so the incremental check starts at the journal's end;
   baselines in the same run: the journal part alone (the full check with no seal kinds registered),
   and the full check with the documents query as it was before (`previous_sealed_sql`: each kind's
   table and the journal joined whole for every range of the chain, lines by a subquery per document);
3. 1,000 entries posted through the one door (`accounts.ledger.post`, hash version 2, seals
   none: no documents), then the incremental check (`verify_since_last`) from the verified point,
   five times without recording (each run checks the same 1,000), median and max; then the same
   on a new connection for each run (a new server process, as the worker's scheduled check gets
   after CONN_MAX_AGE), and the first call in three fresh processes (`--fresh-once`);
4. baselines in the same run: the incremental check with nothing new (its fixed cost), a bare
   SQL read of the 1,000 entries and their lines (the floor any check of them pays), and the seal
   part as it was before the batched check: two queries per seal kind (each kind's sealed rows
   since the verified seal, and its never-sealed scan over every row), against the batched one;
5. the load average before and after.

Results go to bench/results/integrity-<timestamp>.json and a summary is printed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
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
    log,
    owner_sql,
    owner_url,
)
from bench.integrity_data import load_invoices  # noqa: E402

DB_NAME = "ledgerline_integrity_bench"
FULL = {"customers": 10_000, "documents": 300_000, "entries": 35_000, "new": 1_000, "repeats": 5}
QUICK = {"customers": 500, "documents": 2_000, "entries": 5_000, "new": 1_000, "repeats": 5}
TARGETS = {"verify_entries_per_s": 100_000, "incremental_ms": 50}
BATCH = 20_000


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run(bench_url: str, sizes: dict, reuse: bool = False) -> dict:
    django_setup(bench_url)
    from accounts.models import Customer
    from bench.ledger_bench import Workload
    from ledger_site.tenancy import tenant_context

    r = {"load_average_before": os.getloadavg(), "uptime_before": uptime()}
    if reuse:
        org, owner = _kept(bench_url)
        r["documents"], r["load"] = {"reused": True}, {"reused": True}
        with tenant_context(org, owner):
            customers = list(Customer.objects.filter(organization=org).order_by("pk"))
            workload = Workload(org, customers, seed=int(time.time()))
    else:
        org, owner, workload = _load(bench_url, sizes, r)
    return _measure(bench_url, sizes, r, org, owner, workload)


def _kept(bench_url):
    """The organization and owner a kept database (--keep) holds."""
    from accounts.models import Organization, User
    from ledger_site.tenancy import tenant_context

    (org_id, owner_id), = owner_sql(bench_url, "SELECT o.id, u.id FROM accounts_organization o, accounts_user u WHERE "
                                               "o.slug = 'integrity-bench' AND u.email = 'integrity-bench@example.com'")
    with tenant_context(org_id, owner_id):
        return Organization.objects.get(pk=org_id), User.objects.get(pk=owner_id)


def _load(bench_url, sizes, r):
    from accounts.ledger_bulk import BulkEntry, bulk_post
    from accounts.models import Customer, User
    from accounts.models_fx import ExchangeRate
    from accounts.services import create_organization
    from bench.ledger_bench import Workload
    from ledger_site.tenancy import tenant_context

    owner = User.objects.create_user(email="integrity-bench@example.com", password=None)
    org = create_organization(owner, name="Integrity Bench Ltd", slug="integrity-bench", base_currency="EUR")
    with tenant_context(org, owner):
        Customer.objects.bulk_create(
            [Customer(organization=org, name=f"Customer {i:05d}", code=f"C{i:05d}",
                      currency="USD" if i % 10 == 0 else "EUR") for i in range(sizes["customers"])],
            batch_size=2000)
        customers = list(Customer.objects.filter(organization=org).order_by("pk"))
        # A weekly USD rate over the workload's dates (400 days back) and a little ahead: since
        # base amounts (accounts 0028) a foreign line needs its day's rate (accounts.fx).
        today = org.today()
        ExchangeRate.objects.bulk_create([ExchangeRate(organization=org, currency="USD", day=today - timedelta(days=d),
                                                       rate=Decimal("0.9")) for d in range(-14, 420, 7)])
    r["documents"] = load_invoices(org, owner, customers, sizes["documents"], today, log)
    with tenant_context(org, owner):
        workload = Workload(org, customers, seed=13)
        t0, posted, lines = time.perf_counter(), 0, 0
        while posted < sizes["entries"]:
            n = min(BATCH, sizes["entries"] - posted)
            batch = [BulkEntry(workload.lines(), effective_date=workload.when(), idempotency_key=f"load:{posted + i}",
                               memo=f"history {posted + i}") for i in range(n)]
            result = bulk_post(org, batch, actor=owner)
            posted, lines = posted + result.posted, lines + result.lines
            log(f"bulk: {posted} entries, {lines} lines")
        r["load"] = {"entries": posted, "lines": lines, "seconds": time.perf_counter() - t0}
    owner_sql(bench_url, "VACUUM (ANALYZE)", "CHECKPOINT")
    return org, owner, workload


def _measure(bench_url, sizes, r, org, owner, workload):
    from django.db import connection, transaction

    from accounts.ledger_verify import VerifyResult, verify_organization
    from accounts.ledger_verify_incremental import verify_since_last
    from accounts.ledger_verify_seals import verify_seals_and_subledger
    from accounts.management.commands.verify_ledger import record_verification
    from accounts.models import JournalEntry, JournalLine, LedgerHead
    from accounts.seals import GENESIS
    from bench.ledger_bench import post_many
    from ledger_site.tenancy import tenant_context

    full = []
    for i in range(3):
        t0 = time.perf_counter()
        with tenant_context(org):
            check = verify_organization(org)
        full.append(time.perf_counter() - t0)
        log(f"full check {i + 1}: {check.entries} entries in {full[-1]:.2f}s, ok={check.ok}")
        assert check.ok, check.problems[:5]
    seconds = statistics.median(full[1:])
    r["full"] = {"entries": check.entries, "lines": check.lines, "seals": check.seals, "documents": check.documents,
                 "first_run_seconds": full[0], "seconds": seconds, "runs_seconds": full,
                 "entries_per_s": check.entries / seconds, "lines_per_s": check.lines / seconds}
    # Baseline: the journal part alone (no seal kinds, no sub-ledger checks), in the same run.
    from accounts import ledger_verify_seals, seals

    kinds, checks = dict(seals.KINDS), list(ledger_verify_seals.SUBLEDGER_CHECKS)
    journal_only = []
    try:
        seals.KINDS.clear()
        ledger_verify_seals.SUBLEDGER_CHECKS.clear()
        for _ in range(2):
            t0 = time.perf_counter()
            with tenant_context(org):
                verify_organization(org)
            journal_only.append(time.perf_counter() - t0)
    finally:
        seals.KINDS.update(kinds)
        ledger_verify_seals.SUBLEDGER_CHECKS[:] = checks
    r["baseline_full_journal_only"] = {"seconds": statistics.median(journal_only), "runs_seconds": journal_only,
                                       "entries_per_s": check.entries / statistics.median(journal_only)}
    log(f"journal part alone: {statistics.median(journal_only):.2f}s")
    # Baseline: the full check with the documents query as before this change (each document's
    # children by a subquery, its table and the journal joined whole for every range of the chain).
    current, previous = ledger_verify_seals.sealed_sql, []
    try:
        ledger_verify_seals.sealed_sql = previous_sealed_sql
        for _ in range(2):
            t0 = time.perf_counter()
            with tenant_context(org):
                assert verify_organization(org).ok
            previous.append(time.perf_counter() - t0)
    finally:
        ledger_verify_seals.sealed_sql = current
    r["baseline_full_previous_documents_query"] = {
        "seconds": statistics.median(previous), "runs_seconds": previous,
        "entries_per_s": check.entries / statistics.median(previous)}
    log(f"full check, documents query as before: {statistics.median(previous):.2f}s")
    with tenant_context(org):
        record_verification(org, check, kind="full", trigger="command")

    def incremental(label, reconnect=False):
        """`reconnect`: each run on a new connection (a new server process, its catalog caches
        cold), as the worker's scheduled check gets when its last one is older than CONN_MAX_AGE."""
        runs, result = [], None
        for _ in range(sizes["repeats"]):
            if reconnect:
                connection.close()
            t0 = time.perf_counter()
            with tenant_context(org):
                result = verify_since_last(org)
            runs.append(time.perf_counter() - t0)
        assert result.ok, result.problems[:5]
        log(f"incremental ({label}): {result.entries} entries, median {statistics.median(runs) * 1000:.1f} ms")
        return {"entries": result.entries, "median_ms": statistics.median(runs) * 1000,
                "max_ms": max(runs) * 1000, "runs_ms": [round(x * 1000, 2) for x in runs]}

    r["incremental_nothing_new"] = incremental("nothing new")
    with tenant_context(org, owner):
        t0 = time.perf_counter()
        post_many(org, workload, sizes["new"], f"new-{int(time.time())}")  # a fresh key per run (--reuse)
        r["new_postings"] = {"entries": sizes["new"], "seconds": time.perf_counter() - t0}
    r["incremental"] = incremental(f"{sizes['new']} new")
    r["incremental_new_connection"] = incremental(f"{sizes['new']} new, a new connection each", reconnect=True)
    # A fresh process (imports, Django, a new connection), timed from the call: what a one-off
    # `manage.py verify_ledger --since-last` pays; the worker's process is long-lived.
    fresh = [first_check_in_fresh_process(bench_url) for _ in range(3)]
    r["incremental_fresh_process"] = {"median_ms": statistics.median(fresh), "runs_ms": fresh}
    log(f"incremental in a fresh process: median {statistics.median(fresh):.1f} ms")

    # The floor: reading those entries and their lines, nothing checked.
    reads = []
    with tenant_context(org), connection.cursor() as c:
        for _ in range(sizes["repeats"]):
            t0 = time.perf_counter()
            c.execute("SELECT e.id, e.seq, e.hash, e.prev_hash, e.memo, e.effective_date FROM accounts_journalentry e "
                      "WHERE e.organization_id = %s ORDER BY e.seq DESC LIMIT %s", [org.pk, sizes["new"]])
            ids = [row[0] for row in c.fetchall()]
            c.execute("SELECT entry_id, account_id, customer_id, currency, amount FROM accounts_journalline "
                      "WHERE entry_id = ANY(%s)", [ids])
            c.fetchall()
            reads.append(time.perf_counter() - t0)
    r["baseline_read_new_ms"] = statistics.median(reads) * 1000
    # Part of the incremental check: the seal chain since the verified seal, the scan for unsealed
    # rows and the sub-ledger sums (over every document; journal lines only after the verified point).
    parts = []
    for _ in range(sizes["repeats"]):
        with tenant_context(org), transaction.atomic():
            head = LedgerHead.objects.get(organization=org)
            since = (head.verified_seal_seq, head.verified_seal_hash) if head.verified_seal_seq else (0, GENESIS)
            # As the incremental check calls it: the journal lines after the verified point only.
            since_entry = JournalEntry.objects.filter(organization=org, seq=head.verified_seq).values_list(
                "pk", flat=True).first() or 0
            t0 = time.perf_counter()
            verify_seals_and_subledger(connection.connection, org.pk, VerifyResult(organization=org.slug), since,
                                       since_entry=since_entry)
            parts.append(time.perf_counter() - t0)
    r["part_seals_and_subledger_ms"] = statistics.median(parts) * 1000
    # Baseline: the seal part as before the batched check, two queries per kind (its sealed rows
    # since the verified seal; its never-sealed scan over every row), sent in one pipeline.
    from accounts.ledger_verify_seals import _unsealed_branch
    from accounts.seals import load_kinds

    per_kind = []
    for _ in range(sizes["repeats"]):
        with tenant_context(org), transaction.atomic():
            head = LedgerHead.objects.get(organization=org)
            pg = connection.connection
            t0 = time.perf_counter()
            with pg.pipeline():
                cursors = []
                for kind in load_kinds().values():
                    sealed, unsealed = pg.cursor(), pg.cursor()
                    sealed.execute(previous_sealed_sql({kind.kind: kind}),
                                   {"org": org.pk, "lo": head.verified_seal_seq, "hi": 2**62})
                    unsealed.execute(_unsealed_branch(kind), {"org": org.pk, f"after_{kind.kind}": 0})
                    cursors += [sealed, unsealed]
                for cursor in cursors:
                    cursor.fetchall()
            per_kind.append(time.perf_counter() - t0)
    r["baseline_seals_two_queries_per_kind_ms"] = statistics.median(per_kind) * 1000
    with tenant_context(org):
        r["journal"] = {"entries": JournalEntry.objects.filter(organization=org).count(),
                        "lines": JournalLine.objects.filter(organization=org).count()}
    with connection.cursor() as c:
        c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        r["journal"]["database_size"] = c.fetchone()[0]
    r["load_average_after"] = os.getloadavg()
    return r


def first_check_in_fresh_process(bench_url) -> float:
    """Milliseconds of the first verify_since_last in a new process (Django set up first, not timed)."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "integrity", "--fresh-once", bench_url],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def _fresh_once(bench_url) -> int:
    django_setup(bench_url)
    from accounts.ledger_verify_incremental import verify_since_last
    from ledger_site.tenancy import tenant_context

    org, _owner = _kept(bench_url)
    t0 = time.perf_counter()
    with tenant_context(org):
        verify_since_last(org)
    print((time.perf_counter() - t0) * 1000)
    return 0


def previous_sealed_sql(kinds) -> str:
    """The documents query of the full check before issue 13's second pass (the same-run baseline):
    each kind's table and the journal joined whole, children by a subquery per document."""
    branches = []
    for kind in kinds.values():
        branches.append(f"""
    SELECT * FROM (
        SELECT s.seq, s.kind, s.label, s.content_hash AS sealed_hash, s.entry_id, s.entry_hash,
               d.id IS NOT NULL AS present, CASE WHEN d.id IS NOT NULL THEN {kind.hash_sql()} END AS content_now,
               CASE WHEN d.id IS NOT NULL THEN {kind.entry} END AS entry_now, je.hash AS je_hash, je.seq AS je_seq,
               CASE WHEN d.id IS NOT NULL THEN {kind.customer} END AS customer_id
        FROM accounts_sealrecord s
        LEFT JOIN {kind.table} d ON d.id = s.object_id
        LEFT JOIN accounts_journalentry je ON je.id = s.entry_id
        WHERE s.organization_id = %(org)s AND s.kind = '{kind.kind}' AND s.seq > %(lo)s AND s.seq <= %(hi)s
    ) x
    WHERE NOT present OR content_now IS DISTINCT FROM sealed_hash OR entry_now IS DISTINCT FROM entry_id
       OR (entry_id IS NOT NULL AND je_hash IS DISTINCT FROM entry_hash)
    """)
    return "\nUNION ALL\n".join(branches) + "\nORDER BY 1"


def report(r: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"integrity-{stamp}.json").write_text(json.dumps(r, indent=2, default=str))
    full, inc, none = r["full"], r["incremental"], r["incremental_nothing_new"]
    rows = [
        ("journal", f"{r['journal']['entries']:,} entries, {r['journal']['lines']:,} lines, "
                    f"{full['documents']:,} documents, {full['seals']:,} seals, "
                    f"{r['journal']['database_size']}"),
        ("full verify (median of 2 after a first run)",
         f"{full['entries_per_s']:,.0f} entries/s ({full['seconds']:.2f}s; first run {full['first_run_seconds']:.2f}s);"
         f" target {TARGETS['verify_entries_per_s']:,}/s"),
        ("baseline: the journal part alone", f"{r['baseline_full_journal_only']['entries_per_s']:,.0f} entries/s "
                                             f"({r['baseline_full_journal_only']['seconds']:.2f}s)"),
        ("baseline: full, documents query as before",
         f"{r['baseline_full_previous_documents_query']['entries_per_s']:,.0f} entries/s "
         f"({r['baseline_full_previous_documents_query']['seconds']:.2f}s)"),
        (f"incremental after {inc['entries']:,} new entries",
         f"median {inc['median_ms']:.1f} ms, max {inc['max_ms']:.1f} ms; target {TARGETS['incremental_ms']} ms"),
        ("baseline: incremental with nothing new", f"median {none['median_ms']:.1f} ms"),
        ("the same, a new connection each run", f"median {r['incremental_new_connection']['median_ms']:.1f} ms"),
        ("the same, first call in a fresh process", f"median {r['incremental_fresh_process']['median_ms']:.1f} ms"),
        ("baseline: bare SQL read of the new entries and lines", f"{r['baseline_read_new_ms']:.1f} ms"),
        ("part: seals + unsealed scan + sub-ledger sums", f"{r['part_seals_and_subledger_ms']:.1f} ms"),
        ("baseline: seal part as before (2 queries per kind)", f"{r['baseline_seals_two_queries_per_kind_ms']:.1f} ms"),
        ("load average before / after", f"{r['load_average_before']} / {r['load_average_after']}"),
    ]
    width = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a.ljust(width)}  {b}")


def main(argv=None) -> int:
    if argv and argv[0] == "--fresh-once":
        return _fresh_once(argv[1])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database (--keep) again: no loading; "
                                                             "each run adds its 1,000 new entries to it")
    parser.add_argument("--db-name", default=DB_NAME)
    for name in FULL:
        parser.add_argument(f"--{name}", type=int)
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    for name in sizes:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    url, where = owner_url()
    log(f"database: {where}, fresh database {args.db_name}; sizes: {sizes}")
    bench_url = bench_database(url, args.db_name, args.reuse)
    try:
        results = run(bench_url, sizes, reuse=args.reuse)
    finally:
        if not (args.keep or args.reuse):
            from django.db import connections

            connections.close_all()
            drop_database(url, args.db_name)
    results["sizes"], results["quick"] = sizes, args.quick
    results["machine"] = {"cpus": os.cpu_count()}
    results["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                       text=True).stdout.strip()
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
