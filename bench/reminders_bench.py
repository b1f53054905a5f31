#!/usr/bin/env python
"""Reminders benchmark: the scan over 1,000,000 invoices (100,000 open, 5,000 due today), the time to
enqueue the delivery, and messages sent per second to a local SMTP server (aiosmtpd).

    .venv/bin/python bench/reminders_bench.py            # 1,000,000 invoices in 20 organizations
    .venv/bin/python bench/reminders_bench.py --quick    # 100,000 invoices (a smoke run)

What it does, on a fresh database `ledgerline_rembench` on the server DATABASE_URL names (or the
embedded PostgreSQL in .pgdata/ when DATABASE_URL is unset):

1. drop, create and migrate the database as the owner; create 20 organizations through
   accounts.services.create_organization (default reminder policy: days -3, 0, +7, +14, +21, then
   every 7 days 4 times) with 500 customers each;
2. bulk-generate the invoices with one INSERT … SELECT generate_series as the owner (no ledger
   postings: the scan never reads the journal). 90% are settled (paid, or void), 10% open. Of the
   open ones 5% have a step due today: half are due in 3 days (day -3 step), half were due 7 days
   ago and had their day-0 reminder already (day +7 step). The other open invoices are either due
   later (no step yet) or overdue with their latest step already in the outbox (nothing new), so
   the scan has to look at them and decide "nothing". Then ANALYZE;
3. as the application role under row-level security (like the product): one scan at 09:00 UTC,
   timed, with the django-q2 enqueue (OrmQ rows) timed separately; then a second scan right after
   (the steady state every 15 minutes: nothing new); EXPLAIN ANALYZE of one organization's scan;
4. delivery of the queued messages through Django's SMTP backend to aiosmtpd on 127.0.0.1:
   claim, render, public link, send, mark sent, timeline event and delivery-log row per message;
5. issue 19 item 4: the same first scan of the day with every policy sending one e-mail per customer
   (ReminderPolicy.one_message_per_customer) against the per-invoice scan, alternating, --rounds
   times each on the same data; the ratio of the best times, of the medians, and the median of each
   round's back-to-back ratio (target: within 1.2x).

Smaller runs: `--invoices 20000 --customers 20 --send 50` (fewer customers: more invoices each).

Results are printed and written to bench/results/reminders-<timestamp>.json and .txt.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, fresh_database, owner_url, with_db  # noqa: E402

DB_NAME = "ledgerline_rembench"
ORGS = 20
CUSTOMERS_PER_ORG = 500


# Settled and open invoices in one statement. n = 1..N, spread over the organizations by a hash of n;
# open when n % 10 = 0;
# among the open ones (k = n / 10) every 20th has a step due today (k % 40 = 0 or 20).
INVOICES_SQL = """
WITH orgs AS (
    SELECT array_agg(o.id ORDER BY o.id) AS ids, array_agg(c.first_id ORDER BY o.id) AS firsts
    FROM accounts_organization o
    JOIN (SELECT organization_id, min(id) AS first_id FROM accounts_customer GROUP BY 1) c
      ON c.organization_id = o.id
), src AS (
    SELECT n, (n / 10) AS k, n %% 10 = 0 AS is_open, (orgs.ids)[g] AS org_id,
           (orgs.firsts)[g] + (n / 7) %% %(customers)s AS customer_id
    FROM generate_series(1, %(n)s) AS n, orgs,
         LATERAL (SELECT 1 + ((n::bigint * 7919) %% 1000003) %% %(orgs)s AS g) spread
), shaped AS (
    SELECT s.*,
        CASE WHEN NOT s.is_open THEN %(today)s::date - (n %% 700) - 1
             WHEN s.k %% 40 = 0 THEN %(today)s::date + 3                       -- day -3 step today
             WHEN s.k %% 40 = 20 THEN %(today)s::date - 7                      -- day +7 step today
             WHEN s.k %% 2 = 0 THEN %(today)s::date + 4 + (s.k %% 57)          -- due later
             ELSE %(today)s::date - 1 - (s.k %% 60)                            -- overdue, handled
        END AS due_date,
        (100 + (n %% 900))::numeric AS total
    FROM src s
)
INSERT INTO invoicing_invoice
    (organization_id, customer_id, kind, status, number, currency, issue_date, due_date, reference,
     discount_percent, notes, terms, subtotal, discount_total, tax_total, total, amount_paid, amount_credited,
     amount_written_off, amount_due, dispute_reason, created_at, issued_at)
SELECT org_id, customer_id,
       'invoice', CASE WHEN NOT is_open AND n %% 10 = 5 THEN 'void' ELSE 'issued' END,
       'INV-B' || lpad(n::text, 8, '0'), 'EUR', due_date - 30, due_date, '', 0, '', '',
       total, 0, 0, total,
       CASE WHEN is_open OR n %% 10 = 5 THEN 0 ELSE total END, 0, 0,
       CASE WHEN is_open THEN total ELSE 0 END, '', now(), now()
FROM shaped
"""

# The reminders already sent for the open invoices: the latest step at or before today for
# overdue ones (nothing new is due), day 0 for the "+7 due today" ones.
HISTORY_SQL = """
INSERT INTO reminders_remindermessage
    (organization_id, invoice_id, customer_id, kind, status, offset_days, "repeat", tone, due_at, created_at,
     attempts, next_attempt_at, claim_token, message_id, to_emails, subject, body, result, last_error, sent_at)
SELECT i.organization_id, i.id, i.customer_id, 'scheduled', 'sent', p.offset_days, 0, 'firm', now(), now(),
       1, now(), '', '', 'ap@example.com', 's', 'b', 'sent', '', now()
FROM invoicing_invoice i
CROSS JOIN LATERAL (
    SELECT max(o) AS offset_days
    FROM unnest(ARRAY[-3, 0, 7, 14, 21, 28, 35, 42, 49]) AS o
    WHERE o <= (%(today)s::date - i.due_date) - CASE WHEN i.due_date = %(today)s::date - 7 THEN 7 ELSE 0 END
) p
WHERE i.status = 'issued' AND i.amount_due > 0 AND i.due_date < %(today)s::date AND p.offset_days IS NOT NULL
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--send", type=int, default=None, help="How many of the queued messages to deliver.")
    parser.add_argument("--invoices", type=int, default=None, help="How many invoices (overrides --quick's 100,000).")
    parser.add_argument("--customers", type=int, default=CUSTOMERS_PER_ORG,
                        help="Customers per organization (fewer: more invoices per customer on a scan day).")
    parser.add_argument("--rounds", type=int, default=2,
                        help="Rounds of the per-invoice / consolidated scan comparison (issue 19 item 4).")
    parser.add_argument("--db-name", default=DB_NAME, help="The benchmark's database (one per engineer).")
    parser.add_argument("--reuse", action="store_true",
                        help="Keep the loaded database of the last run (same day); only forget what its scan wrote.")
    args = parser.parse_args(argv)
    n = args.invoices or (100_000 if args.quick else 1_000_000)
    url, where = owner_url()
    out = {"database": where, "invoices": n, "organizations": ORGS, "host": platform.node(),
           "python": platform.python_version(), "started": datetime.now(UTC).isoformat(),
           "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    t0 = time.perf_counter()
    if args.reuse:
        bench_url = with_db(url, args.db_name)
        import psycopg

        with psycopg.connect(bench_url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")  # the journal's triggers stay out of it
            conn.execute("DELETE FROM reminders_remindermessage WHERE NOT (status = 'sent' AND subject = 's')")
            conn.execute("DELETE FROM django_q_ormq")
            conn.execute("ANALYZE")
    else:
        bench_url = fresh_database(url, args.db_name)
    out["migrate_s"] = round(time.perf_counter() - t0, 1)

    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger_site.settings")
    os.environ["LEDGER_DB_AS_OWNER"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import psycopg

    from accounts.models import Customer, User
    from accounts.services import create_organization
    from ledger_site.tenancy import tenant_context

    if args.reuse:
        from accounts.org_directory import all_organizations

        return measure(out, bench_url, list(all_organizations()), args)
    # 1. organizations and customers, the way sign-up makes them
    t0 = time.perf_counter()
    owner = User.objects.create_user("bench-owner@example.com", "bench-password-123")
    orgs = [create_organization(owner, name=f"Bench {i}", slug=f"bench-{i}") for i in range(ORGS)]
    for org in orgs:
        with tenant_context(org):
            Customer.objects.bulk_create([
                Customer(organization=org, name=f"Customer {org.pk}-{c}", code=f"C{c:05d}",
                         billing_emails=f"ap{c}@customer{org.pk}.example", currency="EUR")
                for c in range(args.customers)])
    out["orgs_and_customers_s"] = round(time.perf_counter() - t0, 1)

    # 2. the invoices and the reminder history, as the owner (one statement each), then ANALYZE
    now = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    today = now.date()
    params = {"n": n, "orgs": ORGS, "customers": args.customers, "today": today}
    with psycopg.connect(bench_url, autocommit=True) as owner_conn:
        t0 = time.perf_counter()
        owner_conn.execute(INVOICES_SQL, params)
        out["load_invoices_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        owner_conn.execute(HISTORY_SQL, params)
        out["load_history_s"] = round(time.perf_counter() - t0, 1)
        owner_conn.execute("ANALYZE")
        counts = owner_conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'issued' AND amount_due > 0),"
            " (SELECT count(*) FROM reminders_remindermessage) FROM invoicing_invoice").fetchone()
    print(f"loaded {counts[0]:,} invoices ({counts[1]:,} open), {counts[2]:,} past reminders", flush=True)
    return measure(out, bench_url, orgs, args)


def measure(out, bench_url, orgs, args):
    import psycopg
    from django.db import connection

    from ledger_site.tenancy import tenant_context

    now = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    with psycopg.connect(bench_url, autocommit=True) as owner_conn:
        counts = owner_conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'issued' AND amount_due > 0),"
            " (SELECT count(*) FROM reminders_remindermessage) FROM invoicing_invoice").fetchone()
    out["rows"] = {"invoices": counts[0], "open": counts[1], "outbox_history": counts[2]}

    # 3. the scan, as the application role under RLS
    from reminders.models import ReminderSettings
    from reminders.scheduler import _INSERT, _params, scan, send_day
    from reminders.tasks import enqueue_delivery

    enqueue_times = []

    def timed_enqueue(org_id, count):
        t = time.perf_counter()
        enqueue_delivery(org_id, count)
        enqueue_times.append(time.perf_counter() - t)

    connection.close()
    result = scan(now=now, enqueue=timed_enqueue)
    out["scan"] = {"seconds": round(result.seconds - sum(enqueue_times), 3), "queued": result.queued,
                   "skipped": result.skipped, "with_enqueue_seconds": round(result.seconds, 3),
                   "enqueue_seconds": round(sum(enqueue_times), 3), "delivery_tasks_queued": _ormq_count(),
                   "slowest_org_s": round(max(o.seconds for o in result.orgs), 3)}
    print(f"scan: {result.queued:,} queued in {out['scan']['seconds']:.2f}s + enqueue {sum(enqueue_times):.3f}s",
          flush=True)
    again = scan(now=now + timedelta(minutes=15), enqueue=lambda *a: None)
    out["rescan"] = {"seconds": round(again.seconds, 3), "queued": again.queued}
    print(f"scan again 15 min later: {again.queued} queued in {again.seconds:.2f}s", flush=True)
    with tenant_context(orgs[0]), connection.cursor() as cursor:
        settings = ReminderSettings.objects.get(organization=orgs[0])
        cursor.execute("BEGIN")
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + _INSERT,
                       _params(orgs[0].pk, settings, now + timedelta(days=1), send_day(now + timedelta(days=1),
                                                                                       settings)))
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("ROLLBACK")
    out["explain_one_org_next_day"] = plan

    # 4. delivery through a real SMTP server
    out["smtp"] = deliver_through_smtp(orgs, now, args.send)

    # 5. consolidated scan (one e-mail per customer a day) against the per-invoice scan, same data
    out["consolidated"] = compare_consolidated(bench_url, now, args.rounds)

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"reminders-{stamp}.json").write_text(json.dumps(out, indent=2, default=str))
    text = report(out)
    (RESULTS / f"reminders-{stamp}.txt").write_text(text)
    print(text)
    return 0 if out["scan"]["seconds"] <= 5 else 1


def compare_consolidated(bench_url, now, rounds: int) -> dict:
    """The first scan of the day with every policy per invoice, then with every policy consolidating
    (ReminderPolicy.one_message_per_customer), alternating, `rounds` times each, on the same data:
    before each scan what the previous one wrote is forgotten (as the owner, triggers off)."""
    import psycopg
    from django.db import connection

    from reminders.scheduler import scan

    def reset(consolidate: bool) -> None:
        with psycopg.connect(bench_url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("DELETE FROM reminders_remindermessage WHERE NOT (status = 'sent' AND subject = 's')")
            conn.execute("DELETE FROM reminders_reminderbatch")
            conn.execute("DELETE FROM invoicing_emaildelivery WHERE kind = 'reminder_batch'")  # their e-mails
            conn.execute("UPDATE reminders_reminderpolicy SET one_message_per_customer = %s", [consolidate])
            conn.execute("VACUUM ANALYZE reminders_remindermessage")
            conn.execute("VACUUM ANALYZE reminders_reminderbatch")

    runs = {"per_invoice": [], "consolidated": []}
    emails = 0
    for _ in range(rounds):
        for consolidate in (False, True):
            reset(consolidate)
            connection.close()
            result = scan(now=now, enqueue=lambda *a: None)
            runs["consolidated" if consolidate else "per_invoice"].append(
                {"seconds": round(result.seconds, 3), "queued": result.queued,
                 "batched": sum(o.batched for o in result.orgs)})
            if consolidate:
                with psycopg.connect(bench_url) as conn:
                    emails = conn.execute("SELECT count(*) FROM reminders_reminderbatch").fetchone()[0]
    reset(False)
    best = {k: min(r["seconds"] for r in v) for k, v in runs.items()}
    median = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    ratio = best["consolidated"] / best["per_invoice"] if best["per_invoice"] else None
    median_ratio = median["consolidated"] / median["per_invoice"] if median["per_invoice"] else None
    # Each round's pair ran back to back, so its ratio sees the same machine load on both sides.
    pairs = [c["seconds"] / p["seconds"] for p, c in zip(runs["per_invoice"], runs["consolidated"], strict=True)
             if p["seconds"]]
    pair_ratio = statistics.median(pairs) if pairs else None
    print(f"consolidated scan: best {best['consolidated']:.3f}s vs per-invoice {best['per_invoice']:.3f}s "
          f"= {ratio:.2f}x; medians {median['consolidated']:.3f}s vs {median['per_invoice']:.3f}s = "
          f"{median_ratio:.2f}x; median of the rounds' ratios {pair_ratio:.2f}x; "
          f"{runs['consolidated'][-1]['batched']:,} messages in {emails:,} e-mails", flush=True)
    return {"runs": runs, "best": best, "ratio": round(ratio, 3) if ratio else None, "median": median,
            "median_ratio": round(median_ratio, 3) if median_ratio else None,
            "round_ratios": [round(r, 3) for r in pairs], "median_round_ratio": round(pair_ratio, 3) if pairs else None,
            "emails": emails, "target_ratio": 1.2, "load_average_after": os.getloadavg()}


def _ormq_count() -> int:
    """Tasks queued: the application role counts them through ledger_queue_health() (it has no
    privilege on django-q2's tables, accounts migration 0029)."""
    from ledger_site.queue import queue_health

    return queue_health("")[0]


def deliver_through_smtp(orgs, now, limit):
    from django.conf import settings

    from reminders.outbox import deliver
    from tests.smtp import SmtpServer

    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.PUBLIC_BASE_URL = "https://ledgerline.example"
    sent, t0 = 0, time.perf_counter()
    try:
        for org in orgs:
            batches = None if limit is None else max(1, (limit - sent) // 50)
            if limit is not None and sent >= limit:
                break
            report = deliver(org.pk, now=now, max_batches=batches)
            sent += report.sent
        elapsed = time.perf_counter() - t0
        server.wait_for(sent, timeout=30)
        received = len(server.envelopes)
    finally:
        server.stop()
    print(f"smtp: {sent:,} messages in {elapsed:.1f}s = {sent / elapsed:.0f}/s", flush=True)
    return {"sent": sent, "received_by_server": received, "seconds": round(elapsed, 2),
            "per_second": round(sent / elapsed, 1)}


def report(out) -> str:
    s, r, m, c = out["scan"], out["rescan"], out["smtp"], out["consolidated"]
    lines = [
        f"Reminders benchmark — {out['database']}, Python {out['python']}, host {out['host']}",
        f"machine: {out['cpus']} CPUs, load average {', '.join(f'{x:.1f}' for x in out['load_average'])} "
        "(shared with other engineers' test runs)",
        f"data: {out['rows']['invoices']:,} invoices ({out['rows']['open']:,} open) in {out['organizations']} "
        f"organizations, {out['rows']['outbox_history']:,} past reminders; "
        f"load {out.get('load_invoices_s', '(reused)')}s + {out.get('load_history_s', '-')}s, ANALYZE after loading",
        f"scan (all organizations, RLS on): {s['seconds']:.3f} s, {s['queued']:,} queued, {s['skipped']:,} skipped; "
        f"slowest organization {s['slowest_org_s']:.3f} s  [target <= 5 s]; with the enqueue "
        f"{s['with_enqueue_seconds']:.3f} s",
        f"enqueue (django-q2 ORM broker, after commit): {s['enqueue_seconds']:.3f} s for "
        f"{s['delivery_tasks_queued']} delivery tasks",
        f"scan again 15 minutes later (steady state): {r['seconds']:.3f} s, {r['queued']} queued",
        f"SMTP (aiosmtpd, 127.0.0.1, one connection per run): {m['sent']:,} sent in {m['seconds']} s = "
        f"{m['per_second']} messages/s (server received {m['received_by_server']:,})",
        f"consolidated scan (one e-mail per customer a day) vs per-invoice scan, same data, best of "
        f"{len(c['runs']['per_invoice'])}: {c['best']['consolidated']:.3f} s vs {c['best']['per_invoice']:.3f} s = "
        f"{c['ratio']}x [target <= 1.2x]; medians {c['median']['consolidated']:.3f} s vs "
        f"{c['median']['per_invoice']:.3f} s = {c['median_ratio']}x; median of the rounds' ratios "
        f"{c['median_round_ratio']}x (rounds: {c['round_ratios']}); "
        f"{c['runs']['consolidated'][-1]['batched']:,} messages in {c['emails']:,} e-mails; "
        f"load average after {', '.join(f'{x:.1f}' for x in c['load_average_after'])}",
        "",
        "EXPLAIN ANALYZE, one organization's scan the next day:",
        out["explain_one_org_next_day"],
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
