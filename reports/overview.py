"""One overview across the organizations a user belongs to (issue 20 item 8): an accountant, or a
group with several companies, sees each organization's outstanding, overdue and DSO side by side.

Each organization is computed by its own dashboard (`reports.dashboard.build`, its default
currency, today in its own time zone) inside `tenant_context(org, user)`: row-level security
admits that organization's rows only, never a widened context, and the list of organizations is
the user's own memberships (the only ones the session can read). Totals are per currency; amounts
in different currencies are never added together.
"""

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Customer, Membership
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


def figures(org, user=None) -> OrgRow:
    """One organization's row, read in its own tenant context."""
    with tenant_context(org, user):
        row = OrgRow(org=org, role="", today=org.today())
        if not Customer.objects.filter(organization=org).exists():
            row.empty = True
            return row
        currencies = org_currencies(org)
        row.currency, row.other_currencies = currencies[0], tuple(currencies[1:])
        d = dash.build(org, row.currency)
        row.outstanding, row.overdue, row.overdue_count = d.outstanding, d.overdue, d.overdue_count
        row.disputed, row.dso, row.dso_reason = d.disputed, d.dso, d.dso_reason
        return row


def overview_rows(user) -> list[OrgRow]:
    """A row per organization the user is a member of, by name."""
    memberships = list(Membership.objects.filter(user=user).select_related("organization")
                       .order_by("organization__name", "organization_id"))
    rows = []
    for membership in memberships:
        row = figures(membership.organization, user)
        row.role = membership.get_role_display()
        rows.append(row)
    return rows


def totals_by_currency(rows: list[OrgRow]) -> list[dict]:
    totals: dict[str, dict] = {}
    for row in rows:
        if row.empty:
            continue
        t = totals.setdefault(row.currency, {"currency": row.currency, "outstanding": Decimal(0),
                                             "overdue": Decimal(0), "overdue_count": 0, "orgs": 0})
        t["outstanding"] += row.outstanding
        t["overdue"] += row.overdue
        t["overdue_count"] += row.overdue_count
        t["orgs"] += 1
    return sorted(totals.values(), key=lambda t: t["currency"])
