"""The reports benchmark's data: one large organization and several small ones, with two years of
invoices, partial payments, credit notes, write-offs and unapplied money.

How it is written, fast but consistent:

* the journal goes through `accounts.ledger_bulk.bulk_post` (the bulk posting door: same
  validation, gapless sequence, hash chain and maintained balances as `ledger.post`, written with
  COPY), as the application role under row-level security;
* the documents (customers, invoices, payments, credit notes, write-offs, allocation rows) are
  written with COPY by the database owner, with the ids reserved up front so each journal entry
  names its document and each document its entry; their maintained amounts (amount paid,
  credited, written off, due; allocated) are computed from the same allocation rows;
* the report triggers fire on those COPYs like on any insert (the item spans are set-based);
* then a few hundred voids, payment reversals, refunds and un-applications go through the
  product's own services, so those paths are in the data too.

Invariants after loading (checked by reports_bench.py): verify-style sums (Σ customer balances =
AR control per currency) and the aging totals = AR control, today and a year ago.
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass
class Size:
    customers: int
    invoices: int
    whale_invoices: int = 0  # invoices of customer 0 (the 1,000-line statement)
    days: int = 730


@dataclass
class Plan:
    """Everything one organization gets, in memory, before it is written."""

    customers: list = field(default_factory=list)  # (code, name, terms, limit, tags, email)
    invoices: list = field(default_factory=list)  # dicts
    payments: list = field(default_factory=list)
    credit_notes: list = field(default_factory=list)
    allocations: list = field(default_factory=list)  # (invoice idx, "p"/"c", source idx, amount, day)
    write_offs: list = field(default_factory=list)  # (invoice idx, amount, day)


TAGS = ["wholesale", "retail", "eu", "key-account", "services", "new", "export"]
NAMES_A = ["Northwind", "Bluebird", "Harbor", "Summit", "Juniper", "Cedar", "Lighthouse", "Meridian", "Granite",
           "Willow", "Copper", "Falcon", "Orchard", "Riverside", "Keystone", "Atlas", "Beacon", "Maple"]
NAMES_B = ["Bakery", "Logistics", "Dental", "Architects", "Print", "Consulting", "Florists", "Motors", "Brewing",
           "Design", "Legal", "Outfitters", "Analytics", "Catering", "Books", "Labs"]
# (share of customers, mean days late, chance an invoice is never fully paid)
PROFILES = [(0.30, -2, 0.10), (0.30, 4, 0.18), (0.20, 12, 0.40), (0.12, 30, 0.65), (0.08, 70, 0.90)]


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def make_plan(size: Size, seed: int, today: date) -> Plan:
    rng = random.Random(seed)
    plan = Plan()
    profiles = []
    for n in range(size.customers):
        name = f"{rng.choice(NAMES_A)} {rng.choice(NAMES_B)} {n:06d}" if n else "Whale Wholesale Ltd"
        terms = rng.choice([14, 30, 30, 30, 45, 60])
        limit = rng.choice([0, 0, 5000, 10000, 25000, 50000])
        tags = ", ".join(sorted(rng.sample(TAGS, rng.randint(0, 2))))
        plan.customers.append((f"C{n:06d}", name, terms, limit, tags, f"ap{n}@customer.example"))
        roll, acc = rng.random(), 0.0
        for share, late, stuck in PROFILES:
            acc += share
            if roll <= acc:
                profiles.append((late, stuck))
                break
        else:
            profiles.append(PROFILES[-1][1:])
    profiles[0] = (8, 0.05)
    start = today - timedelta(days=size.days)
    hot = max(1, size.customers // 100)
    for n in range(size.invoices):
        if n < size.whale_invoices:
            c = 0
        elif rng.random() < 0.15:
            c = rng.randrange(hot)  # the top 1% of customers get 15% of the invoices
        else:
            c = rng.randrange(size.customers)
        issue = start + timedelta(days=rng.randrange(size.days + 1))
        _, _, terms, *_ = plan.customers[c]
        due = issue + timedelta(days=terms)
        total = money(min(60000.0, rng.lognormvariate(6.2, 1.0)) + 10)
        net = money(total / Decimal("1.2"))
        inv = {"c": c, "issue": issue, "due": due, "total": total, "net": net, "tax": total - net,
               "paid": ZERO, "credited": ZERO, "written_off": ZERO}
        plan.invoices.append(inv)
        idx = len(plan.invoices) - 1
        late, stuck = profiles[c]
        left = total
        if rng.random() < 0.03:  # a credit note against the invoice, applied at once
            day = issue + timedelta(days=rng.randint(1, 20))
            if day <= today:
                amount = money(total * Decimal(rng.choice([10, 20, 50, 100])) / 100)
                plan.credit_notes.append({"c": c, "day": day, "total": amount, "invoice": idx})
                plan.allocations.append((idx, "c", len(plan.credit_notes) - 1, amount, day))
                inv["credited"] += amount
                left -= amount
        if left <= 0:
            continue
        pay_day = due + timedelta(days=int(rng.gauss(late, 6)))
        pay_day = max(pay_day, issue)
        never = rng.random() < stuck
        if rng.random() < 0.15 or (never and rng.random() < 0.35):  # a partial payment first
            part = money(left * Decimal(rng.randint(20, 70)) / 100)
            day = max(issue, pay_day - timedelta(days=rng.randint(5, 25)))
            if day <= today and part > 0:
                _pay(plan, rng, c, idx, part, day)
                left -= part
        if never:
            if issue < today - timedelta(days=420) and rng.random() < 0.3:  # old and hopeless: written off
                day = issue + timedelta(days=365)
                plan.write_offs.append((idx, left, day))
                inv["written_off"] += left
            continue
        if pay_day <= today:
            _pay(plan, rng, c, idx, left, pay_day)
    # Money on account: payments nobody applied yet (about 1% of customers).
    for c in rng.sample(range(size.customers), max(1, size.customers // 100)):
        plan.payments.append({"c": c, "day": today - timedelta(days=rng.randrange(120)),
                              "amount": money(rng.uniform(20, 900)), "allocated": ZERO})
    return plan


def _pay(plan, rng, c, idx, amount, day):
    extra = money(rng.uniform(1, 40)) if rng.random() < 0.01 else ZERO  # a little overpaid: stays unapplied
    plan.payments.append({"c": c, "day": day, "amount": amount + extra, "allocated": amount})
    plan.allocations.append((idx, "p", len(plan.payments) - 1, amount, day))
    plan.invoices[idx]["paid"] += amount


# --- writing ---------------------------------------------------------------------------------

def reserve_ids(owner_conn, table: str, count: int) -> int:
    """Reserve `count` consecutive ids of `table`; returns the first."""
    seq = owner_conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]
    first = owner_conn.execute(f"SELECT nextval('{seq}')").fetchone()[0]  # noqa: S608 - a sequence name from pg
    owner_conn.execute("SELECT setval(%s, %s)", [seq, first + max(count, 1) - 1])
    return first


COPY_CHUNK = 5_000


def copy_rows(owner_conn, table: str, columns: list[str], rows) -> int:
    """COPY rows into table; NOT NULL columns without a default that we do not name get a neutral
    value (so a column another app adds later does not break the benchmark)."""
    info = owner_conn.execute(
        "SELECT column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns "
        "WHERE table_name = %s", [table]).fetchall()
    fill = {}
    for name, dtype, nullable, default, identity in info:
        if name in columns or nullable == "YES" or default is not None or identity == "YES":
            continue
        fill[name] = ("" if "char" in dtype or dtype == "text" else
                      0 if dtype in ("integer", "bigint", "smallint", "numeric") else
                      False if dtype == "boolean" else
                      "{}" if dtype in ("jsonb", "json") else
                      datetime.now(UTC) if "timestamp" in dtype else
                      date.today() if dtype == "date" else "")
    names = columns + list(fill)
    extra = tuple(fill.values())
    # One COPY (one transaction, autocommit) per COPY_CHUNK rows: the seal triggers (issue 13) update
    # the ledger head once or twice per document, and within one transaction every update walks the
    # chain of that row's earlier versions, so one COPY of N documents costs O(N^2) (issue 23: 100k
    # invoices did not finish in 25 minutes; chunks keep each chain short).
    n = 0
    rows = iter(rows)
    sql = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    while True:
        written = 0
        with owner_conn.cursor().copy(sql) as copy:
            for row in rows:
                copy.write_row(tuple(row) + extra)
                written += 1
                if written == COPY_CHUNK:
                    break
        n += written
        if written < COPY_CHUNK:
            return n


def write_customers(owner_conn, org_id: int, plan: Plan, currency: str = "EUR") -> int:
    first = reserve_ids(owner_conn, "accounts_customer", len(plan.customers))
    now = datetime.now(UTC)
    copy_rows(owner_conn, "accounts_customer",
              ["id", "organization_id", "name", "code", "billing_emails", "contact_person", "phone",
               "billing_address", "tax_id", "currency", "payment_terms_days", "credit_limit", "language", "notes",
               "tags", "created_at"],
              ((first + n, org_id, name, code, email, "", "", f"{n} Bench Street\nDublin", "", currency, terms,
                Decimal(limit), "en", "", tags, now)
               for n, (code, name, terms, limit, tags, email) in enumerate(plan.customers)))
    return first


def bulk_entries(org, plan: Plan, ids: dict, customers: list, acc: dict):
    """The journal entries of the plan, in effective-date order (BulkEntry objects)."""
    from accounts.ledger import Line
    from accounts.ledger_bulk import BulkEntry

    events = []
    for n, inv in enumerate(plan.invoices):
        events.append((inv["issue"], 0, n))
    for n, cn in enumerate(plan.credit_notes):
        events.append((cn["day"], 1, n))
    for n, p in enumerate(plan.payments):
        events.append((p["day"], 2, n))
    for n, (_idx, _amount, day) in enumerate(plan.write_offs):
        events.append((day, 3, n))
    events.sort()
    for day, kind, n in events:
        if kind == 0:
            inv = plan.invoices[n]
            pk, number = ids["invoice"] + n, invoice_number(inv, n)
            yield BulkEntry([Line(acc["ar"], inv["total"], customers[inv["c"]]), Line(acc["revenue"], -inv["net"]),
                             Line(acc["tax"], -inv["tax"])], day, f"invoice:{pk}:issue", f"Invoice {number}",
                            ("invoicing.invoice", pk), number)
        elif kind == 1:
            cn = plan.credit_notes[n]
            pk, number = ids["credit_note"] + n, f"CN-{n + 1:07d}"
            net = money(cn["total"] / Decimal("1.2"))
            yield BulkEntry([Line(acc["ar"], -cn["total"], customers[cn["c"]]), Line(acc["returns"], net),
                             Line(acc["tax"], cn["total"] - net)], day, f"credit_note:bench:{pk}",
                            f"Credit note {number}", ("invoicing.creditnote", pk), number)
        elif kind == 2:
            p = plan.payments[n]
            pk = ids["payment"] + n
            yield BulkEntry([Line(acc["bank"], p["amount"]), Line(acc["ar"], -p["amount"], customers[p["c"]])],
                            day, f"payment:bench-{pk}", f"Payment #{pk}", ("payments.payment", pk), f"#{pk}")
        else:
            idx, amount, _ = plan.write_offs[n]
            inv_pk, number = ids["invoice"] + idx, invoice_number(plan.invoices[idx], idx)
            customer = customers[plan.invoices[idx]["c"]]
            yield BulkEntry([Line(acc["bad_debt"], amount), Line(acc["ar"], -amount, customer)],
                            day, f"invoice:{inv_pk}:writeoff:1", f"Write-off of {number}",
                            ("invoicing.invoice", inv_pk), number)


def invoice_number(inv: dict, n: int) -> str:
    return f"INV-{inv['issue'].year}-{n + 1:07d}"


def write_documents(owner_conn, org_id: int, plan: Plan, ids: dict, entry_ids: dict, customer_first: int,
                    bank_id: int, owner_id: int) -> dict:
    now = datetime.now(UTC)
    counts = {}
    inv_first, pay_first, cn_first = ids["invoice"], ids["payment"], ids["credit_note"]

    def invoice_rows():
        for n, inv in enumerate(plan.invoices):
            pk = inv_first + n
            due = inv["total"] - inv["paid"] - inv["credited"] - inv["written_off"]
            yield (pk, org_id, customer_first + inv["c"], "invoice", "issued", invoice_number(inv, n), "EUR",
                   inv["issue"], inv["due"], "", ZERO, "", "", inv["net"], ZERO, inv["tax"], inv["total"],
                   inv["paid"], inv["credited"], inv["written_off"], due, now, "", now,
                   entry_ids[f"invoice:{pk}:issue"], owner_id, owner_id)

    counts["invoices"] = copy_rows(owner_conn, "invoicing_invoice", [
        "id", "organization_id", "customer_id", "kind", "status", "number", "currency", "issue_date", "due_date",
        "reference", "discount_percent", "notes", "terms", "subtotal", "discount_total", "tax_total", "total",
        "amount_paid", "amount_credited", "amount_written_off", "amount_due", "issued_at", "dispute_reason",
        "created_at", "issue_entry_id", "issued_by_id", "created_by_id"], invoice_rows())

    def payment_rows():
        for n, p in enumerate(plan.payments):
            pk = pay_first + n
            yield (pk, org_id, customer_first + p["c"], p["amount"], "EUR", p["day"], "bank_transfer", "", "",
                   p["allocated"], ZERO, "", f"bench-{pk}", now, bank_id, entry_ids[f"payment:bench-{pk}"], owner_id)

    counts["payments"] = copy_rows(owner_conn, "payments_payment", [
        "id", "organization_id", "customer_id", "amount", "currency", "received_date", "method", "reference",
        "notes", "amount_allocated", "amount_refunded", "reversal_reason", "idempotency_key", "created_at",
        "deposit_account_id", "entry_id", "created_by_id"], payment_rows())

    def credit_rows():
        for n, cn in enumerate(plan.credit_notes):
            pk = cn_first + n
            net = money(cn["total"] / Decimal("1.2"))
            yield (pk, org_id, customer_first + cn["c"], inv_first + cn["invoice"], f"CN-{n + 1:07d}", "EUR",
                   cn["day"], "Returned goods", net, cn["total"] - net, cn["total"], cn["total"], now,
                   entry_ids[f"credit_note:bench:{pk}"], owner_id)

    counts["credit_notes"] = copy_rows(owner_conn, "invoicing_creditnote", [
        "id", "organization_id", "customer_id", "invoice_id", "number", "currency", "issue_date", "reason",
        "subtotal", "tax_total", "total", "amount_applied", "created_at", "entry_id", "created_by_id"], credit_rows())

    def writeoff_rows():
        for idx, amount, day in plan.write_offs:
            pk = inv_first + idx
            yield (org_id, pk, amount, "Uncollectible", day, now, entry_ids[f"invoice:{pk}:writeoff:1"], owner_id)

    counts["write_offs"] = copy_rows(owner_conn, "invoicing_writeoff", [
        "organization_id", "invoice_id", "amount", "reason", "effective_date", "created_at", "entry_id",
        "created_by_id"], writeoff_rows())

    def allocation_rows():
        for idx, kind, src, amount, day in plan.allocations:
            yield (org_id, inv_first + idx, pay_first + src if kind == "p" else None,
                   cn_first + src if kind == "c" else None, amount, "", day, now, owner_id)

    counts["allocations"] = copy_rows(owner_conn, "payments_allocation", [
        "organization_id", "invoice_id", "payment_id", "credit_note_id", "amount", "reason", "effective_date",
        "created_at", "created_by_id"], allocation_rows())
    # Numbering continues after the loaded numbers.
    per_year = defaultdict(int)
    for n, inv in enumerate(plan.invoices):
        per_year[inv["issue"].year] = max(per_year[inv["issue"].year], n + 1)
    for year, last in per_year.items():
        owner_conn.execute(
            "INSERT INTO invoicing_numberseries (organization_id, kind, year, last_number)"
            " VALUES (%s, 'invoice', %s, %s) ON CONFLICT (organization_id, kind, year)"
            " DO UPDATE SET last_number = EXCLUDED.last_number",
            [org_id, year, last])
    return counts
