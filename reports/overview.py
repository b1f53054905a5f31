"""One overview across the organizations a user belongs to (issue 20 item 8): an accountant, or a
group with several companies, sees each organization's outstanding, overdue and DSO side by side.

Each organization is computed by its own dashboard (`reports.dashboard.build`, its default
currency, today in its own time zone) inside `tenant_context(org, user)`: row-level security
admits that organization's rows only, never a widened context, and the list of organizations is
the user's own memberships (the only ones the session can read). Totals are per currency; amounts
in different currencies are never added together.

**In a chosen currency** (`?currency=`): each organization's figures of every currency it uses are
converted with that organization's own rates of its today (accounts.fx.cross_rate through its base
currency; each currency's total rounded once, fx.sum_in_base): outstanding, overdue, every aging bucket
(the organization's own buckets) and the amount invoiced over the last 90 days. DSO in that currency is
the period-end formula over those converted figures (outstanding ÷ invoiced in the last 90 days × 90):
both sides at the same rates, so for an organization with one currency it is its own period-end DSO.
An organization without a rate for one of them shows which rate is missing and is left out of the
total, which says so; nothing is guessed. The total adds the buckets only when every organization in it
ages in the same buckets (else it says so), and its DSO is Σ outstanding ÷ Σ invoiced × 90.

**The same customer in several organizations** is recognised by its tax id (upper case, letters and
digits only): each organization's customers with a tax id and their ledger balances (accounts'
CustomerBalance, today), read in that organization's context, then grouped here; only tax ids present
in two or more organizations are listed, with the combined exposure (in the chosen currency, or per
currency).
"""

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from accounts import fx
from accounts.locale import format_day
from accounts.models import Customer, Membership
from accounts.models_ledger import CustomerBalance
from ledger_site.tenancy import tenant_context
from reports import dashboard as dash
from reports.asof import org_currencies


@dataclass
class OrgRow:
    org: object
    role: str
    currency: str = ""
    other_currencies: tuple = ()
    empty: bool = False  # no customers yet
    outstanding: Decimal = Decimal(0)
    overdue: Decimal = Decimal(0)
    overdue_count: int = 0
    disputed: Decimal = Decimal(0)
    dso: Decimal | None = None
    dso_reason: str = ""
    today: object = None
    converted: "Converted | None" = None  # the figures in the chosen currency


@dataclass
class Converted:
    """One organization's figures over all its currencies in the chosen one, or why they cannot be."""

    currency: str
    outstanding: Decimal = Decimal(0)
    overdue: Decimal = Decimal(0)
    overdue_count: int = 0
    rates: dict = field(default_factory=dict)  # currency -> units of `currency` per unit, the org's rates
    missing: str = ""  # the rate that is missing, named
    buckets: list = field(default_factory=list)  # (label, amount) in the organization's own aging buckets
    invoiced_90: Decimal = Decimal(0)  # invoiced over the last 90 days (the DSO's denominator)
    dso: Decimal | None = None  # period-end, 90 days; None when nothing was invoiced then


def period_end_dso(outstanding: Decimal, invoiced: Decimal) -> Decimal | None:
    """Outstanding ÷ invoiced over the last 90 days × 90, to a tenth of a day (the dashboard's rounding)."""
    if invoiced <= 0:
        return None
    return (outstanding * dash.DSO_DAYS / invoiced).quantize(Decimal("0.1"), ROUND_HALF_UP)


def missing_rate_text(org, error: fx.MissingRate, into: str) -> str:
    return (
        f"{org.name} has no {error.currency} exchange rate for {format_day(error.day, org.locale)} "
        f"(nor in the {fx.max_age_days()} days before): its figures cannot be shown in {into}. "
        f"Enter the {error.currency}→{org.base_currency} rate under that organization's "
        "Settings → Exchange rates."
    )


def _convert(org, into: str, by_currency: dict, today) -> Converted:
    """`by_currency` {currency: dashboard} in `into`, with the organization's rates of `today`."""
    out = Converted(currency=into)
    try:
        out.rates = {code: fx.cross_rate(org, code, into, today) for code in by_currency}
    except fx.MissingRate as error:
        out.missing = missing_rate_text(org, error, into)
        return out
    out.outstanding = fx.sum_in_base({c: d.outstanding for c, d in by_currency.items()}, out.rates, into)
    out.overdue = fx.sum_in_base({c: d.overdue for c, d in by_currency.items()}, out.rates, into)
    out.overdue_count = sum(d.overdue_count for d in by_currency.values())
    labels = [b.label for b in next(iter(by_currency.values())).buckets]
    out.buckets = [
        (label, fx.sum_in_base({c: d.bucket_amounts[i] for c, d in by_currency.items()}, out.rates, into))
        for i, label in enumerate(labels)
    ]
    out.invoiced_90 = fx.sum_in_base({c: d.invoiced_dso_window for c, d in by_currency.items()}, out.rates, into)
    out.dso = period_end_dso(out.outstanding, out.invoiced_90)
    return out


def figures(org, user=None, into: str = "") -> OrgRow:
    """One organization's row, read in its own tenant context (`into`: also in that currency)."""
    with tenant_context(org, user):
        row = OrgRow(org=org, role="", today=org.today())
        if not Customer.objects.filter(organization=org).exists():
            row.empty = True
            return row
        currencies = org_currencies(org)
        row.currency, row.other_currencies = currencies[0], tuple(currencies[1:])
        by_currency = {code: dash.build(org, code) for code in (currencies if into else currencies[:1])}
        d = by_currency[row.currency]
        row.outstanding, row.overdue, row.overdue_count = d.outstanding, d.overdue, d.overdue_count
        row.disputed, row.dso, row.dso_reason = d.disputed, d.dso, d.dso_reason
        if into:
            row.converted = _convert(org, into, by_currency, row.today)
        return row


def user_memberships(user) -> list:
    return list(
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name", "organization_id")
    )


def currency_choices(memberships) -> list[str]:
    """The currencies one may choose: every base currency of the user's organizations."""
    return sorted({m.organization.base_currency for m in memberships})


def overview_rows(user, into: str = "", memberships=None) -> list[OrgRow]:
    """A row per organization the user is a member of, by name."""
    rows = []
    for membership in memberships if memberships is not None else user_memberships(user):
        row = figures(membership.organization, user, into)
        row.role = membership.get_role_display()
        rows.append(row)
    return rows


def converted_total(rows: list[OrgRow]) -> dict | None:
    """The chosen currency's total over the organizations whose figures could be converted."""
    done = [r for r in rows if r.converted is not None and not r.converted.missing]
    if not any(r.converted is not None for r in rows):
        return None
    outstanding = sum((r.converted.outstanding for r in done), Decimal(0))
    invoiced = sum((r.converted.invoiced_90 for r in done), Decimal(0))
    labels = {tuple(label for label, _a in r.converted.buckets) for r in done}
    buckets = None  # organizations ageing in different buckets: no bucket is added up
    if len(labels) == 1:
        buckets = [
            (label, sum((r.converted.buckets[i][1] for r in done), Decimal(0)))
            for i, label in enumerate(next(iter(labels)))
        ]
    return {
        "outstanding": outstanding,
        "overdue": sum((r.converted.overdue for r in done), Decimal(0)),
        "overdue_count": sum(r.converted.overdue_count for r in done),
        "orgs": len(done),
        "buckets": buckets,
        "buckets_differ": len(labels) > 1,
        "invoiced_90": invoiced,
        "dso": period_end_dso(outstanding, invoiced),
        "left_out": [r.org.name for r in rows if r.converted is not None and r.converted.missing],
    }


def tax_key(tax_id: str) -> str:
    """A tax id as compared across organizations: upper case, letters and digits only."""
    return re.sub(r"[^0-9A-Z]", "", tax_id.upper())


@dataclass
class Presence:
    org: object
    customer_id: int
    name: str
    tax_id: str
    balances: dict  # currency -> ledger balance today
    converted: Decimal | None = None  # in the chosen currency
    missing: str = ""


@dataclass
class SharedCustomer:
    """One tax id found in two or more of the user's organizations."""

    tax_id: str
    presences: list
    totals: dict = field(default_factory=dict)  # currency -> Σ balances (when no currency is chosen)
    combined: Decimal | None = None  # in the chosen currency, when every presence could be converted
    missing: list = field(default_factory=list)


def customers_by_tax_id(org, user=None, into: str = "") -> list[Presence]:
    """The organization's customers with a tax id and their balances, read in its own context."""
    with tenant_context(org, user):
        customers = {
            pk: Presence(org, pk, name, tax_id, {})
            for pk, name, tax_id in Customer.objects.filter(organization=org)
            .exclude(tax_id="")
            .values_list("pk", "name", "tax_id")
        }
        for cid, code, amount in (
            CustomerBalance.objects.filter(organization=org, customer_id__in=list(customers))
            .exclude(amount=0)
            .values_list("customer_id", "currency", "amount")
        ):
            customers[cid].balances[code] = amount
        if into:
            today = org.today()
            for p in customers.values():
                try:
                    rates = {code: fx.cross_rate(org, code, into, today) for code in p.balances}
                except fx.MissingRate as error:
                    p.missing = missing_rate_text(org, error, into)
                    continue
                p.converted = fx.sum_in_base(p.balances, rates, into)
    return list(customers.values())


def shared_customers(memberships, user, into: str = "") -> list[SharedCustomer]:
    """Tax ids present in two or more of the user's organizations, largest combined exposure first."""
    groups: dict[str, list[Presence]] = {}
    for membership in memberships:
        for p in customers_by_tax_id(membership.organization, user, into):
            key = tax_key(p.tax_id)
            if key:
                groups.setdefault(key, []).append(p)
    shared = []
    for presences in groups.values():
        if len({p.org.pk for p in presences}) < 2:
            continue
        s = SharedCustomer(tax_id=presences[0].tax_id, presences=sorted(presences, key=lambda p: p.org.name))
        for p in presences:
            for code, amount in p.balances.items():
                s.totals[code] = s.totals.get(code, Decimal(0)) + amount
        if into:
            s.missing = [p.missing for p in presences if p.missing]
            if not s.missing:
                s.combined = sum((p.converted for p in presences), Decimal(0))
        shared.append(s)
    return sorted(shared, key=lambda s: (-(s.combined or 0), -sum(s.totals.values(), Decimal(0)), s.tax_id))


def totals_by_currency(rows: list[OrgRow]) -> list[dict]:
    totals: dict[str, dict] = {}
    for row in rows:
        if row.empty:
            continue
        t = totals.setdefault(
            row.currency,
            {"currency": row.currency, "outstanding": Decimal(0), "overdue": Decimal(0), "overdue_count": 0, "orgs": 0},
        )
        t["outstanding"] += row.outstanding
        t["overdue"] += row.overdue
        t["overdue_count"] += row.overdue_count
        t["orgs"] += 1
    return sorted(totals.values(), key=lambda t: t["currency"])
