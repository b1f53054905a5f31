"""Collection KPIs (issue 20) for a period as of its end day, each drillable to its invoices.

* CEI, collection effectiveness index = (opening AR + credit sales − closing AR)
  ÷ (opening AR + credit sales − closing current AR) × 100: what was collected out of what could
  have been collected (100 % = everything that fell due was collected);
* ADD, average days delinquent = period-end DSO − best-possible DSO (reports.dso): the days by
  which customers, on average, pay later than terms;
* at-risk rate = open amount of invoices issued more than 90 days before the end ÷ open amount
  of all invoices at the end × 100.

AR, credit sales and "current" (not yet due at the end) are reports.dso's inputs; open invoice
amounts as of the end come from reports.asof (the one as-of definition). Percentages are rounded
to 0.1, half up.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from invoicing.models import Invoice
from reports import dso as dso_mod
from reports.asof import ZERO, items_cte, open_items, report_cursor

AT_RISK_DAYS = 90
SETS = ("sales", "open_start", "open_end", "current", "overdue", "at_risk")
TENTH = Decimal("0.1")


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole <= 0 else (part * 100 / whole).quantize(TENTH, ROUND_HALF_UP)


@dataclass
class Kpis:
    d: dso_mod.Dso
    open_invoices: Decimal  # Σ open invoice amounts at the end (gross of unapplied credit)
    at_risk: Decimal

    @property
    def collectable(self) -> Decimal:
        return self.d.ar_open + self.d.sales - self.d.current

    @property
    def collected(self) -> Decimal:
        return self.d.ar_open + self.d.sales - self.d.ar_close

    @property
    def cei(self) -> Decimal | None:
        return percent(self.collected, self.collectable)

    @property
    def cei_reason(self) -> str:
        return "" if self.collectable > 0 else _(
            "Nothing could be collected in the period (opening AR + sales − AR not yet due is not above zero).")

    @property
    def add(self) -> Decimal | None:
        if self.d.period_end is None or self.d.best is None:
            return None
        return self.d.period_end - self.d.best

    @property
    def add_reason(self) -> str:
        return self.d.no_sales_reason

    @property
    def at_risk_rate(self) -> Decimal | None:
        return percent(self.at_risk, self.open_invoices)

    @property
    def at_risk_reason(self) -> str:
        return "" if self.open_invoices > 0 else _("No invoice was open at the end of the period.")

    @property
    def overdue(self) -> Decimal:
        return self.open_invoices - self.d.current


def at_risk_cutoff(end: date) -> date:
    """Invoices issued before this day were billed more than 90 days before the end."""
    return end - timedelta(days=AT_RISK_DAYS)


def kpis(org, currency: str, kind: str, as_of: date) -> Kpis:
    d = dso_mod.for_period(org, currency, kind, as_of)
    cte, params = items_cte(org.pk, as_of)
    params.update({"cur": currency, "cut": at_risk_cutoff(as_of)})
    with report_cursor() as cursor:
        cursor.execute("WITH " + cte + " SELECT coalesce(sum(amount), 0), "  # noqa: S608 - constants
                       "coalesce(sum(amount) FILTER (WHERE doc_date < %(cut)s), 0) FROM items "
                       "WHERE kind = 'i' AND currency = %(cur)s AND amount <> 0", params)
        total, risky = cursor.fetchone()
    return Kpis(d=d, open_invoices=total, at_risk=risky)


@dataclass
class Row:
    invoice_id: int
    number: str
    customer_id: int
    issue_date: date
    due_date: date | None
    amount: Decimal


def invoices_behind(org, currency: str, start: date, end: date, which: str) -> list[Row]:
    """The invoices behind one input of the KPIs, with the amount that counts (open amount as of
    the day, or the total for sales)."""
    if which == "sales":
        rows = (Invoice.objects.filter(organization=org, currency=currency, issue_date__gte=start,
                                       issue_date__lte=end).exclude(status="draft")
                .exclude(void_entry__effective_date__lte=end).order_by("issue_date", "pk")
                .values_list("pk", "number", "customer_id", "issue_date", "due_date", "total"))
        return [Row(*r) for r in rows]
    day = start - timedelta(days=1) if which == "open_start" else end
    items = [i for i in open_items(org, day, currency=currency) if i.kind == "i"]
    if which == "current":
        items = [i for i in items if i.due_date >= end]
    elif which == "overdue":
        items = [i for i in items if i.due_date < end]
    elif which == "at_risk":
        cut = at_risk_cutoff(end)
        items = [i for i in items if i.doc_date < cut]
    return [Row(i.item_id, i.number, i.customer_id, i.doc_date, i.due_date, i.amount)
            for i in sorted(items, key=lambda i: (i.doc_date, i.item_id))]


def total(rows: list[Row]) -> Decimal:
    return sum((r.amount for r in rows), ZERO)
