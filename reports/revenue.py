"""Revenue by segment: what each customer, customer tag or item brought in a period, per currency.

Revenue is counted the way the ledger posts it (DESIGN.md posting rules), so the figures add up to
the profit-and-loss revenue (sales revenue + sales returns and allowances) of the same period:
- invoiced: the net (tax excluded) of every issued invoice dated in the period, voided or not
  (late fees post to late-fee income and are left out);
- credited: credit notes dated in the period (their net) plus invoices voided in the period
  (the void reverses the whole issue entry, on the void's date);
- net = invoiced − credited.
Reads invoicing's rows (read only). Tags: a customer with several tags counts under each, so tag
rows can add up to more than the total; "No tag" / "No item" collect the rest.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F, Sum

from accounts.models import Customer
from accounts.money import quantum
from invoicing.models import CreditNote, CreditNoteLine, InvoiceLine
from invoicing.models_items import Item

ZERO = Decimal(0)
SEGMENTS = ("customer", "tag", "item")


@dataclass
class Row:
    key: object
    label: str
    invoiced: Decimal = ZERO
    credited: Decimal = ZERO
    previous: Decimal = ZERO  # net, the previous period of the same length
    last_year: Decimal = ZERO  # net, the same period a year earlier

    @property
    def net(self) -> Decimal:
        return self.invoiced - self.credited


@dataclass
class Revenue:
    by: str
    start: date
    end: date
    currency: str
    rows: list[Row] = field(default_factory=list)
    total: Row = None

    @property
    def previous_start(self):
        return self.start - (self.end - self.start) - timedelta(days=1)

    @property
    def previous_end(self):
        return self.start - timedelta(days=1)


def _shift_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _by_customer(org, cur, start, end) -> dict:
    """{customer id: (invoiced, credited)}"""
    out = defaultdict(lambda: [ZERO, ZERO])
    lines = InvoiceLine.objects.filter(invoice__organization=org, invoice__currency=cur, invoice__kind="invoice",
                                       invoice__issue_entry__isnull=False)
    for row in (lines.filter(invoice__issue_date__range=(start, end)).values(k=F("invoice__customer_id"))
                .annotate(s=Sum("net_amount"))):
        out[row["k"]][0] += row["s"]
    for row in (lines.filter(invoice__void_entry__effective_date__range=(start, end))
                .values(k=F("invoice__customer_id")).annotate(s=Sum("net_amount"))):
        out[row["k"]][1] += row["s"]
    for row in (CreditNote.objects.filter(organization=org, currency=cur, issue_date__range=(start, end))
                .values(k=F("customer_id")).annotate(s=Sum("subtotal"))):
        out[row["k"]][1] += row["s"]
    return out


def _by_item(org, cur, start, end) -> dict:
    """{item id or None: (invoiced, credited)}"""
    out = defaultdict(lambda: [ZERO, ZERO])
    lines = InvoiceLine.objects.filter(invoice__organization=org, invoice__currency=cur, invoice__kind="invoice",
                                       invoice__issue_entry__isnull=False)
    for row in lines.filter(invoice__issue_date__range=(start, end)).values(k=F("item_id")).annotate(
            s=Sum("net_amount")):
        out[row["k"]][0] += row["s"]
    for row in lines.filter(invoice__void_entry__effective_date__range=(start, end)).values(k=F("item_id")).annotate(
            s=Sum("net_amount")):
        out[row["k"]][1] += row["s"]
    notes = CreditNote.objects.filter(organization=org, currency=cur, issue_date__range=(start, end))
    by_item_total = ZERO
    for row in (CreditNoteLine.objects.filter(credit_note__in=notes, invoice_line__item__isnull=False)
                .values(k=F("invoice_line__item_id")).annotate(s=Sum("net_amount"))):
        out[row["k"]][1] += row["s"]
        by_item_total += row["s"]
    # credit notes for an amount, and lines without an item: the rest of the notes' net
    rest = (notes.aggregate(s=Sum("subtotal"))["s"] or ZERO) - by_item_total
    if rest:
        out[None][1] += rest
    return out


def _amounts(org, by, cur, start, end) -> dict:
    if by == "item":
        return _by_item(org, cur, start, end)
    per_customer = _by_customer(org, cur, start, end)
    if by == "customer":
        return per_customer
    tags = dict(Customer.objects.filter(organization=org, pk__in=list(per_customer)).values_list("pk", "tags"))
    out = defaultdict(lambda: [ZERO, ZERO])
    for customer_id, (invoiced, credited) in per_customer.items():
        names = sorted({t.strip().lower() for t in (tags.get(customer_id) or "").split(",") if t.strip()}) or [None]
        for name in names:
            out[name][0] += invoiced
            out[name][1] += credited
    return out


def revenue_by_segment(org, by: str, start: date, end: date, currency: str | None = None) -> Revenue:
    cur = currency or org.base_currency
    report = Revenue(by=by, start=start, end=end, currency=cur)
    now = _amounts(org, by, cur, start, end)
    before = _amounts(org, by, cur, report.previous_start, report.previous_end)
    last_year = _amounts(org, by, cur, _shift_year(start), _shift_year(end))
    keys = set(now) | set(before) | set(last_year)
    labels = _labels(org, by, keys)
    rows = []
    for key in keys:
        invoiced, credited = now.get(key, (ZERO, ZERO))
        rows.append(Row(key, labels.get(key, ""), invoiced, credited, _net(before.get(key)), _net(last_year.get(key))))
    report.rows = sorted(rows, key=lambda r: (-r.net, r.label))
    if by == "tag":  # a customer counts under each of its tags: the total is by customer
        now, before, last_year = (_by_customer(org, cur, s, e) for s, e in (
            (start, end), (report.previous_start, report.previous_end), (_shift_year(start), _shift_year(end))))
    q = quantum(cur)
    for row in [*report.rows]:
        row.invoiced, row.credited = row.invoiced.quantize(q), row.credited.quantize(q)
        row.previous, row.last_year = row.previous.quantize(q), row.last_year.quantize(q)
    report.total = Row(None, "Total", sum((v[0] for v in now.values()), ZERO), sum((v[1] for v in now.values()), ZERO),
                       sum((_net(v) for v in before.values()), ZERO), sum((_net(v) for v in last_year.values()), ZERO))
    total = report.total
    total.invoiced, total.credited = total.invoiced.quantize(q), total.credited.quantize(q)
    total.previous, total.last_year = total.previous.quantize(q), total.last_year.quantize(q)
    return report


def _net(pair) -> Decimal:
    return pair[0] - pair[1] if pair else ZERO


def _labels(org, by, keys) -> dict:
    if by == "customer":
        return {c.pk: f"{c.name} ({c.code})" for c in Customer.objects.filter(organization=org, pk__in=keys)}
    if by == "item":
        labels = {i.pk: f"{i.name} ({i.code})" for i in Item.objects.filter(organization=org, pk__in=[k for k in keys
                                                                                                     if k])}
        labels[None] = "No item"
        return labels
    return {k: (k if k else "No tag") for k in keys}
