"""The overview across a user's organizations (issue 20 item 8, reports/overview.py): a user sees
their own organizations only, each with the figures its own dashboard shows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from accounts.money import format_money
from ledger_site.tenancy import tenant_context
from reports import overview
from tests.factories import CustomerFactory, UserFactory, add_member, make_org
from tests.reports.helpers import invoice, pay

pytestmark = pytest.mark.django_db


def history(org, name, currency, amounts, owner):
    """Invoices of `amounts` issued 50 days ago and due 20 days ago (overdue), the first half paid,
    and one issued 5 days ago (not due)."""
    with tenant_context(org, owner):
        today = org.today()
        customer = CustomerFactory(organization=org, name=name, currency=currency)
        invoices = [invoice(org, customer, a, today - timedelta(days=50), today - timedelta(days=20), actor=owner)
                    for a in amounts]
        pay(org, customer, str(Decimal(amounts[0]) / 2), today - timedelta(days=10),
            allocation={invoices[0]: str(Decimal(amounts[0]) / 2)}, actor=owner)
        invoice(org, customer, "99.00", today - timedelta(days=5), actor=owner)


@pytest.fixture
def accountant(world):
    """An accountant who is a viewer of A and finance in C (Swiss francs, another time zone), not
    a member of B; each of the three has its own history."""
    org_c, owner_c = make_org(name="Gamma Holdings", slug="gamma", base_currency="CHF", timezone="Asia/Tokyo")
    user = UserFactory(email="accountant@firm.example")
    add_member(world.org, Role.VIEWER, user)
    add_member(org_c, Role.FINANCE, user)
    history(world.org, "Alpha Customer", "EUR", ["1200.00", "300.00"], world.owner)
    history(org_c, "Gamma Customer", "CHF", ["800.00"], owner_c)
    history(world.other_org, "Secret Beta Customer", "EUR", ["7777.00"], world.outsider)
    return {"user": user, "org_c": org_c, "world": world}


def test_the_overview_shows_only_the_users_organizations_with_their_dashboards_figures(accountant):
    world, org_c = accountant["world"], accountant["org_c"]
    client = Client()
    client.force_login(accountant["user"])
    response = client.get(reverse("organizations_overview"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Organization A" in page and "Gamma Holdings" in page
    assert "Organization B" not in page and "7,777" not in page and "3,888.50" not in page
    rows = response.context["rows"]
    assert [r.org.pk for r in rows] == [org_c.pk, world.org.pk]  # by name
    for row in rows:
        d = client.get(reverse("dashboard", kwargs={"org_slug": row.org.slug})).context["d"]
        assert (row.currency, row.outstanding, row.overdue, row.overdue_count, row.dso) == (
            d.currency, d.outstanding, d.overdue, d.overdue_count, d.dso)
        assert format_money(row.outstanding, row.currency) in page
    a, c = rows[1], rows[0]
    # Worked out by hand: A owes 1,200 − 600 + 300 + 99, of which 900 is overdue on 2 invoices.
    assert (a.currency, a.outstanding, a.overdue, a.overdue_count) == ("EUR", Decimal("999.00"), Decimal("900.00"), 2)
    assert (c.currency, c.outstanding, c.overdue, c.overdue_count) == ("CHF", Decimal("499.00"), Decimal("400.00"), 1)
    # Totals per currency, never across currencies.
    totals = {t["currency"]: t["outstanding"] for t in response.context["totals"]}
    assert totals == {"CHF": Decimal("499.00"), "EUR": Decimal("999.00")}


def test_the_outsider_sees_only_their_own_organization(accountant):
    world = accountant["world"]
    rows = _rows_for(world.outsider)
    assert [r.org.pk for r in rows] == [world.other_org.pk]
    assert rows[0].outstanding == Decimal("7777.00") / 2 + Decimal("99.00")


def test_each_organization_is_read_in_its_own_context(accountant):
    """figures() for an organization reads only that organization's rows: A's figures do not move
    when B's history grows, whoever asks."""
    world = accountant["world"]
    before = overview.figures(world.org, accountant["user"])
    history(world.other_org, "More Beta", "EUR", ["5000.00"], world.outsider)
    after = overview.figures(world.org, accountant["user"])
    assert (before.outstanding, before.overdue) == (after.outstanding, after.overdue) == (
        Decimal("999.00"), Decimal("900.00"))


def test_an_organization_without_customers_and_the_switcher_link(world):
    empty, _owner = make_org(name="Empty Start", slug="empty-start")
    add_member(empty, Role.VIEWER, world.owner)
    client = world.client("owner")
    page = client.get(reverse("organizations_overview")).content.decode()
    assert "Empty Start" in page and "No customers yet." in page
    home = client.get(reverse("dashboard", kwargs={"org_slug": world.org.slug})).content.decode()
    assert reverse("organizations_overview") in home
    # One organization only: no overview link in the switcher.
    alone = world.client("outsider").get(reverse("dashboard", kwargs={"org_slug": world.other_org.slug}))
    assert reverse("organizations_overview") not in alone.content.decode()
    assert Client().get(reverse("organizations_overview")).status_code == 302


def _rows_for(user):
    from ledger_site.tenancy import set_db_context

    set_db_context(None, user.pk)  # what the middleware sets for a signed-in request outside /o/
    try:
        return overview.overview_rows(user)
    finally:
        set_db_context(None, None)
