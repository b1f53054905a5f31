#!/usr/bin/env python
"""Invoice document benchmark: PDF rendering against bare WeasyPrint, serving stored PDFs, issuing.

    .venv/bin/python bench/pdf_bench.py            # median of 50 (1 page) / 10 (200 lines)
    .venv/bin/python bench/pdf_bench.py --quick    # a smoke run

On a fresh database `ledgerline_pdfbench` on the server DATABASE_URL names (or the embedded
PostgreSQL in .pgdata/ when it is unset), migrated as the owner and then used as the
application role under row-level security, like the product:

1. render, warm, in the same process and run, interleaved:
   - a 1-page invoice (3 lines) through `invoicing.pdf.render_invoice_pdf` (settings query,
     context, Django template, WeasyPrint with the restricted fetcher and the parsed invoice
     stylesheet) — median of 50 — beside a bare render of a minimal one-page A4 HTML through
     the same `html_to_pdf` (reused FontConfiguration), beside the same minimal page with
     WeasyPrint's defaults (a new FontConfiguration per render), and beside the invoice's own
     HTML without its stylesheet;
   - a 200-line invoice beside a bare 200-row, 7-column table — median of 10;
2. peak memory: each of the four documents rendered 3 times in its own fresh process
   (ru_maxrss, and the growth over that process's baseline after imports);
3. serving a stored PDF through the Django test client (middleware, session, membership,
   tenant context, the query) — median of 200 — for the signed-in page and the public link;
4. issuing throughput: prepared 3-line drafts issued one by one by the owner, each its own
   transaction (totals, credit check, gapless number, snapshot, ledger posting, timeline event,
   PDF render queued), invoices/s: all drafts are made first, then ANALYZE, then the median of R
   rounds of N, with the slowest and fastest round (this machine's speed drifts by a third from
   minute to minute).

Results are printed as a table and written to bench/results/pdf-<timestamp>.json.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    RESULTS,
    django_setup,
    drop_database,
    fresh_database,
    owner_sql,
    owner_url,
    server_version,
)

DB_NAME = os.environ.get("PDF_BENCH_DB", "ledgerline_pdfbench")  # own name per worktree to avoid collisions

FULL = {"one_page": 50, "long": 10, "serve": 200, "issue": 200, "issue_rounds": 7}
QUICK = {"one_page": 8, "long": 2, "serve": 40, "issue": 40, "issue_rounds": 3}
TARGETS = {"ratio": 1.3, "serve_ms": 20.0, "issue_per_s": 200.0}

BARE_ONE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>@page { size: A4 }</style></head>
<body><h1>Invoice</h1><p>A minimal page.</p></body></html>"""


def unstyled_html(html: str) -> str:
    """The invoice's own HTML without its stylesheet (static/css/invoice_pdf.css, and the @page
    rule left in the template): the same text and tables, browser defaults."""
    import re

    return re.sub(r"<style>.*?</style>", "<style>@page { size: A4 }</style>", html, flags=re.S)


def bare_table(rows: int) -> str:
    body = "".join(f"<tr><td>{n}</td><td>Service item {n:03d}</td><td>1</td><td>{n}.00</td><td>20</td>"
                   f"<td>{n}.00</td><td>EUR</td></tr>" for n in range(1, rows + 1))
    return (f'<!doctype html><html><head><meta charset="utf-8"><style>@page {{ size: A4 }}</style></head><body>'
            f"<table><thead><tr><th>#</th><th>Description</th><th>Qty</th><th>Price</th><th>Tax</th><th>Amount</th>"
            f"<th>Cur</th></tr></thead><tbody>{body}</tbody></table></body></html>")


# --- database ----------------------------------------------------------------------------


# --- measurements ------------------------------------------------------------------------

def median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def interleaved(pairs: dict, n: int, cpu: bool = False) -> dict:
    """Median ms of each callable, run alternately so both see the same machine state. With
    `cpu`, also the median of this process's CPU time as `<name>_cpu`: a render is one thread of
    pure CPU, so its CPU time hardly depends on what the other users of a shared machine do."""
    times = {name: [] for name in pairs}
    cpu_times = {name: [] for name in pairs}
    for _ in range(n):
        for name, fn in pairs.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            cpu_times[name].append(time.process_time() - c0)
    out = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
    if cpu:
        out.update({f"{name}_cpu": statistics.median(ts) * 1000 for name, ts in cpu_times.items()})
    return out


def make_world():
    from accounts.models import Customer, User
    from accounts.services import create_organization
    from invoicing.models import InvoiceSettings

    owner = User.objects.create_user("bench-owner@example.com", "bench-password-123")
    org = create_organization(owner, name="Northwind Tools Ltd", slug="bench",
                              address="12 Harbour Road\nBristol BS1 4RN", tax_id="GB 123 4567 89")
    from ledger_site.tenancy import tenant_context

    with tenant_context(org):
        customer = Customer.objects.create(organization=org, name="Contoso Trading GmbH", code="C1", currency="EUR",
                                           billing_emails="ap@contoso.example",
                                           billing_address="Hauptstraße 5\n10115 Berlin")
        s = InvoiceSettings.objects.get(organization=org)
        s.bank_details = "IBAN GB33 BUKB 2020 1555 5555 55\nBIC BUKBGB22"
        s.save()
    return org, owner, customer


def make_draft(org, customer, lines):
    from decimal import Decimal

    from invoicing.models import InvoiceLine, TaxRate
    from invoicing.services import new_draft, recompute_totals

    rate = TaxRate.objects.filter(organization=org, percent=Decimal("20")).first()
    invoice = new_draft(org, customer)
    InvoiceLine.objects.bulk_create([
        InvoiceLine(organization=org, invoice=invoice, position=n, description=d, quantity=Decimal(q),
                    unit_price=Decimal(p), tax_rate=rate)
        for n, (d, q, p) in enumerate(lines, start=1)])
    recompute_totals(invoice)
    return invoice


def high_water_kib() -> int:
    """VmHWM: this process's peak resident set (ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(kind: str, html_path: str) -> None:
    """Run in a fresh process: render one document 3 times, print RSS figures (KiB)."""
    django_setup(None)
    import weasyprint  # noqa: F401  (the baseline includes the imports)

    from invoicing.pdf import html_to_pdf, invoice_stylesheet, restricted_fetcher

    html = Path(html_path).read_text()
    sheets = [invoice_stylesheet()] if kind.startswith("invoice") else []  # its CSS is a static file
    base = high_water_kib()
    for _ in range(3):
        html_to_pdf(html, restricted_fetcher(), sheets)
    print(json.dumps({"kind": kind, "baseline_kib": base, "peak_kib": high_water_kib()}))


def memory(docs: dict) -> dict:
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, html in docs.items():
            path = Path(tmp) / f"{kind}.html"
            path.write_text(html)
            proc = subprocess.run([sys.executable, __file__, "--memory-child", kind, str(path)],
                                  check=True, capture_output=True, text=True, cwd=ROOT)
            out[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--memory-child", nargs=2, metavar=("KIND", "HTML"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(*args.memory_child)
        return 0
    size = QUICK if args.quick else FULL
    url, where = owner_url()
    print(f"database: {where} (benchmark database {DB_NAME})", flush=True)
    bench_url = fresh_database(url, DB_NAME)
    pg_version = server_version(bench_url)
    try:
        django_setup(bench_url)
        return run(size, where, pg_version, args.quick, bench_url)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(url, DB_NAME)


def run(size: dict, where: str, pg_version: str, quick: bool, bench_url: str) -> int:
    from django.test import Client
    from django.urls import reverse

    from invoicing.models import InvoiceSettings
    from invoicing.pdf import html_to_pdf, render_invoice_html, render_invoice_pdf, restricted_fetcher
    from invoicing.public import ensure_link, link_path
    from invoicing.services import issue_invoice
    from ledger_site.tenancy import tenant_context

    results = {"database": f"{where}, PostgreSQL {pg_version}", "python": platform.python_version(),
               "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "quick": quick,
               "at": datetime.now().isoformat(timespec="seconds")}
    import weasyprint

    results["weasyprint"] = weasyprint.__version__
    org, owner, customer = make_world()
    with tenant_context(org):
        one = issue_invoice(make_draft(org, customer, [("Consulting — March, senior engineer", "12.5", "95.00"),
                                                       ("Travel expenses", "1", "240.55"),
                                                       ("Widget XL", "3", "19.99")]))
        long = issue_invoice(make_draft(org, customer, [(f"Service item {n:03d} — monthly retainer", "1",
                                                         f"{n}.00") for n in range(1, 201)]))
        inv_settings = InvoiceSettings.objects.get(organization=org)
        bare_long = bare_table(200)
        print("warming up…", flush=True)
        for _ in range(2):
            render_invoice_pdf(one)
            html_to_pdf(BARE_ONE_PAGE, restricted_fetcher())
        print(f"1-page renders ×{size['one_page']}…", flush=True)
        unstyled = unstyled_html(render_invoice_html(one, inv_settings))
        r1 = interleaved({"invoice": lambda: render_invoice_pdf(one),
                          "bare": lambda: html_to_pdf(BARE_ONE_PAGE, restricted_fetcher()),
                          "bare_defaults": lambda: weasyprint.HTML(string=BARE_ONE_PAGE).write_pdf(),
                          "bare_same_content": lambda: html_to_pdf(unstyled, restricted_fetcher())}, size["one_page"],
                         cpu=True)
        r1["template_only"] = median_ms(lambda: render_invoice_html(one, inv_settings), size["one_page"])
        print(f"200-line renders ×{size['long']}…", flush=True)
        r200 = interleaved({"invoice": lambda: render_invoice_pdf(long),
                            "bare": lambda: html_to_pdf(bare_long, restricted_fetcher())}, size["long"], cpu=True)
        import io

        from pypdf import PdfReader

        results["pages_200_lines"] = len(PdfReader(io.BytesIO(render_invoice_pdf(long))).pages)
        results["render_1_page"] = r1
        results["render_200_lines"] = r200

        print("peak memory (fresh processes)…", flush=True)
        results["memory"] = memory({"invoice_1_page": render_invoice_html(one), "bare_1_page": BARE_ONE_PAGE,
                                    "invoice_200_lines": render_invoice_html(long), "bare_200_rows": bare_long})

        link = ensure_link(one, owner)
    pdf_url = reverse("invoice_pdf", kwargs={"org_slug": org.slug, "pk": one.pk})
    public_url = link_path(link) + "pdf"
    client = Client()
    client.force_login(owner)
    first = client.get(pdf_url)
    assert first.status_code == 200 and first["Content-Type"] == "application/pdf", first.status_code
    anonymous = Client()
    assert anonymous.get(public_url).status_code == 200
    results["pdf_bytes"] = len(first.content)
    from django.db import connection

    for max_age in (60, 0):  # persistent connections (production), then a new connection per request
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = max_age
        print(f"serving ×{size['serve']} (CONN_MAX_AGE={max_age})…", flush=True)
        results[f"serve_ms_conn_max_age_{max_age}"] = interleaved(
            {"org_page": lambda: client.get(pdf_url), "public_link": lambda: anonymous.get(public_url)}, size["serve"])
    results["serve_ms"] = results["serve_ms_conn_max_age_60"]
    connection.close()

    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit'), current_setting('fsync')")
        results["synchronous_commit, fsync"] = ", ".join(cursor.fetchone())
    with tenant_context(org, owner):
        print(f"issuing {size['issue_rounds']} rounds ×{size['issue']}…", flush=True)
        drafts = [make_draft(org, customer, [("Consulting", "2", "100.00"), ("Hosting", "1", "49.00"),
                                             ("Support", "3", "25.00")])
                  for _ in range(size["issue_rounds"] * size["issue"])]
        # As autovacuum would have: without statistics the planner takes the invoices table for
        # empty and reads a draft through the organization's index instead of its primary key.
        owner_sql(bench_url, "ANALYZE")
        rounds = []
        for n in range(size["issue_rounds"]):
            t0 = time.perf_counter()
            for d in drafts[n * size["issue"]:(n + 1) * size["issue"]]:
                # As a person issues: with the credit check, and the PDF render queued.
                issue_invoice(d, actor=owner)
            rounds.append(size["issue"] / (time.perf_counter() - t0))
        results["issue_rounds_per_s"] = [round(x, 1) for x in rounds]
        results["issue_per_s"] = statistics.median(rounds)
    results["peak_rss_this_process_mib"] = high_water_kib() / 1024
    results["load_average"] = " ".join(f"{x:.1f}" for x in os.getloadavg())

    report(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"pdf-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


def report(r: dict) -> None:
    def ok(flag):
        return "ok" if flag else "MISSED"

    r1, r200, mem = r["render_1_page"], r["render_200_lines"], r["memory"]
    ratio1, ratio200 = r1["invoice"] / r1["bare"], r200["invoice"] / r200["bare"]
    serve = r["serve_ms"]["org_page"]
    rows = [
        ("1-page invoice render (median, warm)", f"{r1['invoice']:.1f} ms", "", ""),
        ("  bare WeasyPrint, minimal A4 page", f"{r1['bare']:.1f} ms", "", ""),
        ("  ratio invoice / bare", f"{ratio1:.2f}×", f"≤ {TARGETS['ratio']}×", ok(ratio1 <= TARGETS["ratio"])),
        ("  bare WeasyPrint defaults (new FontConfiguration each)", f"{r1['bare_defaults']:.1f} ms", "", ""),
        ("  ratio invoice / bare defaults", f"{r1['invoice'] / r1['bare_defaults']:.2f}×", "", ""),
        ("  bare WeasyPrint, same HTML without CSS", f"{r1['bare_same_content']:.1f} ms", "", ""),
        ("  ratio invoice / same content unstyled", f"{r1['invoice'] / r1['bare_same_content']:.2f}×",
         f"≤ {TARGETS['ratio']}×", ok(r1["invoice"] / r1["bare_same_content"] <= TARGETS["ratio"])),
        ("  of which Django template + context", f"{r1['template_only']:.2f} ms", "", ""),
        *((f"  CPU time (median), {label}", f"{r1[key + '_cpu']:.1f} ms", "", "")
          for key, label in (("invoice", "invoice"), ("bare", "bare minimal page"),
                             ("bare_defaults", "bare defaults"), ("bare_same_content", "same HTML without CSS"))),
        ("  CPU ratio invoice / bare", f"{r1['invoice_cpu'] / r1['bare_cpu']:.2f}×", f"≤ {TARGETS['ratio']}×",
         ok(r1["invoice_cpu"] / r1["bare_cpu"] <= TARGETS["ratio"])),
        ("  CPU ratio invoice / same content unstyled", f"{r1['invoice_cpu'] / r1['bare_same_content_cpu']:.2f}×",
         f"≤ {TARGETS['ratio']}×", ok(r1["invoice_cpu"] / r1["bare_same_content_cpu"] <= TARGETS["ratio"])),
        (f"200-line invoice render ({r['pages_200_lines']} pages)", f"{r200['invoice']:.0f} ms", "", ""),
        ("  bare WeasyPrint, 200-row table", f"{r200['bare']:.0f} ms", "", ""),
        ("  ratio invoice / bare", f"{ratio200:.2f}×", f"≤ {TARGETS['ratio']}×",
         ok(ratio200 <= TARGETS["ratio"])),
        ("  CPU ratio invoice / bare", f"{r200['invoice_cpu'] / r200['bare_cpu']:.2f}×", f"≤ {TARGETS['ratio']}×",
         ok(r200["invoice_cpu"] / r200["bare_cpu"] <= TARGETS["ratio"])),
    ]
    for kind in ("invoice_1_page", "bare_1_page", "invoice_200_lines", "bare_200_rows"):
        m = mem[kind]
        rows.append((f"peak RSS, {kind.replace('_', ' ')}",
                     f"{m['peak_kib'] / 1024:.0f} MiB", f"+{(m['peak_kib'] - m['baseline_kib']) / 1024:.0f} MiB", ""))
    rows += [
        (f"stored PDF served, signed in ({r['pdf_bytes'] // 1024} KiB)", f"{serve:.2f} ms",
         f"≤ {TARGETS['serve_ms']:.0f} ms", ok(serve <= TARGETS["serve_ms"])),
        ("stored PDF served, public link", f"{r['serve_ms']['public_link']:.2f} ms",
         f"≤ {TARGETS['serve_ms']:.0f} ms", ok(r["serve_ms"]["public_link"] <= TARGETS["serve_ms"])),
        ("  same, new DB connection per request (signed in)", f"{r['serve_ms_conn_max_age_0']['org_page']:.2f} ms",
         "", ""),
        ("  same, new DB connection per request (public)", f"{r['serve_ms_conn_max_age_0']['public_link']:.2f} ms",
         "", ""),
        ("issuing (numbering + posting), 1 process, median round", f"{r['issue_per_s']:.0f} /s",
         f"≥ {TARGETS['issue_per_s']:.0f} /s", ok(r["issue_per_s"] >= TARGETS["issue_per_s"])),
        ("  slowest / fastest round", f"{min(r['issue_rounds_per_s']):.0f} / {max(r['issue_rounds_per_s']):.0f}",
         "", ""),
    ]
    print(f"\nInvoice documents benchmark — {r['database']} (synchronous_commit, fsync: "
          f"{r['synchronous_commit, fsync']}); WeasyPrint {r['weasyprint']}; Python {r['python']}; "
          f"{r['machine']}, load average {r['load_average']}{' (quick)' if r['quick'] else ''}\n")
    width = max(len(row[0]) for row in rows)
    print(f"{'measure':<{width}}  {'value':>12}  {'target / Δ':>12}  result")
    print("-" * (width + 36))
    for name, value, target, result in rows:
        print(f"{name:<{width}}  {value:>12}  {target:>12}  {result}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
