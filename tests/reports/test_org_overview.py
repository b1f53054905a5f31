"""The overview across a user's organizations (issue 20 item 8, reports/overview.py): a user sees
their own organizations only, each with the figures its own dashboard shows."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

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
        invoices = [
            invoice(org, customer, a, today - timedelta(days=50), today - timedelta(days=20), actor=owner)
            for a in amounts
        ]
        pay(
            org,
            customer,
            str(Decimal(amounts[0]) / 2),
            today - timedelta(days=10),
            allocation={invoices[0]: str(Decimal(amounts[0]) / 2)},
            actor=owner,
        )
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
            d.currency,
            d.outstanding,
            d.overdue,
            d.overdue_count,
            d.dso,
        )
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
    assert (
        (before.outstanding, before.overdue)
        == (after.outstanding, after.overdue)
        == (Decimal("999.00"), Decimal("900.00"))
    )


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


def _rate(org, code, rate):
    from accounts.models_fx import ExchangeRate

    with tenant_context(org):
        ExchangeRate.objects.create(organization=org, currency=code, day=org.today(), rate=Decimal(rate))


def _overview(user, **params):
    client = Client()
    client.force_login(user)
    response = client.get(reverse("organizations_overview"), params)
    assert response.status_code == 200
    return response, " ".join(response.content.decode().split())


def test_in_a_chosen_currency_each_organization_converts_with_its_own_rates(accountant):
    """Gamma (CHF) holds 1 EUR = 0.95 CHF; A (EUR) holds 1 CHF = 2 EUR, a rate that must not be used for
    Gamma. In EUR: A stays 999.00 / 900.00; Gamma's 499.00 / 400.00 CHF ÷ 0.95 = 525.26 / 421.05 EUR;
    all in EUR 1,524.26, overdue 1,321.05 on 3 invoices."""
    world, org_c, user = accountant["world"], accountant["org_c"], accountant["user"]
    _rate(org_c, "EUR", "0.95")
    _rate(world.org, "CHF", "2")
    response, page = _overview(user, currency="EUR")
    rows = {r.org.pk: r for r in response.context["rows"]}
    a, c = rows[world.org.pk].converted, rows[org_c.pk].converted
    assert (a.outstanding, a.overdue, a.overdue_count) == (Decimal("999.00"), Decimal("900.00"), 2)
    assert (c.outstanding, c.overdue, c.overdue_count) == (Decimal("525.26"), Decimal("421.05"), 1)
    total = response.context["converted_total"]
    assert (total["outstanding"], total["overdue"], total["overdue_count"], total["left_out"]) == (
        Decimal("1524.26"),
        Decimal("1321.05"),
        3,
        [],
    )
    assert format_money(Decimal("1524.26"), "EUR") in page and format_money(Decimal("525.26"), "EUR") in page
    # The per-currency totals are still there, never added across currencies.
    assert {t["currency"] for t in response.context["totals"]} == {"CHF", "EUR"}


def test_a_missing_rate_is_named_and_that_organization_left_out_of_the_total(accountant):
    world, org_c, user = accountant["world"], accountant["org_c"], accountant["user"]
    response, page = _overview(user, currency="EUR")  # Gamma has no EUR rate
    gamma = next(r for r in response.context["rows"] if r.org.pk == org_c.pk)
    assert gamma.converted.missing.startswith("Gamma Holdings has no EUR exchange rate for")
    assert "Gamma Holdings has no EUR exchange rate for" in page
    total = response.context["converted_total"]
    assert (total["outstanding"], total["orgs"], total["left_out"]) == (Decimal("999.00"), 1, ["Gamma Holdings"])
    assert "Not included (a rate is missing): Gamma Holdings" in page
    response, page = _overview(user, currency="CHF")  # A has no CHF rate
    alpha = next(r for r in response.context["rows"] if r.org.pk == world.org.pk)
    assert "Organization A has no CHF exchange rate for" in alpha.converted.missing


def test_an_unknown_currency_is_refused_with_a_statement(accountant):
    response, page = _overview(accountant["user"], currency="XYZ")
    assert response.context["into"] == ""
    assert "XYZ is not a currency of your organizations; choose one of CHF, EUR." in page
    assert all(r.converted is None for r in response.context["rows"])


def test_the_same_customer_is_recognised_by_tax_id_across_the_users_organizations(accountant):
    """Alpha Customer (A) and Gamma Customer (Gamma) share a tax id written two ways; B's customer has it
    too, but the user is not a member of B: neither its name nor its balance may show."""
    from accounts.models import Customer

    world, org_c, user = accountant["world"], accountant["org_c"], accountant["user"]
    for org, name, tax_id, who in (
        (world.org, "Alpha Customer", "DE 123-456", world.owner),
        (org_c, "Gamma Customer", "de123456", None),
        (world.other_org, "Secret Beta Customer", "DE123456", world.outsider),
    ):
        with tenant_context(org, who):
            Customer.objects.filter(organization=org, name=name).update(tax_id=tax_id)
    with tenant_context(org_c):
        lonely = CustomerFactory(organization=org_c, name="Only In Gamma", tax_id="CH999")
    response, page = _overview(user)
    [shared] = response.context["shared"]
    assert [(p.org.pk, p.name) for p in shared.presences] == [
        (org_c.pk, "Gamma Customer"),
        (world.org.pk, "Alpha Customer"),
    ]
    assert shared.totals == {"EUR": Decimal("999.00"), "CHF": Decimal("499.00")}
    assert "Secret Beta" not in page and "7,777" not in page and lonely.name not in page
    _rate(org_c, "EUR", "0.95")
    response, page = _overview(user, currency="EUR")
    [shared] = response.context["shared"]
    assert shared.combined == Decimal("999.00") + Decimal("525.26")
    assert format_money(Decimal("1524.26"), "EUR") in page


def _tenth(x):
    return x.quantize(Decimal("0.1"), ROUND_HALF_UP)


def test_aging_and_dso_in_a_chosen_currency_worked_by_hand(accountant):
    """The fixture's books (each organization's own buckets: Current, 1–30, 31–60, 61–90, Over 90):
    A (EUR): 600 + 300 overdue 20 days (1–30), 99 current; invoiced in the last 90 days 1,200 + 300 + 99.
    Gamma (CHF): 400 overdue 20 days, 99 current; invoiced 800 + 99. In EUR, Gamma's rate 1 EUR = 0.95 CHF:
    each currency's amount ÷ 0.95 rounded once (99 → 104.21, 400 → 421.05, 899 → 946.32)."""
    world, org_c, user = accountant["world"], accountant["org_c"], accountant["user"]
    _rate(org_c, "EUR", "0.95")
    response, page = _overview(user, currency="EUR")
    rows = {r.org.pk: r for r in response.context["rows"]}
    a, c = rows[world.org.pk].converted, rows[org_c.pk].converted
    zero = Decimal("0.00")
    assert [amount for _label, amount in a.buckets] == [Decimal("99.00"), Decimal("900.00"), zero, zero, zero]
    assert [amount for _label, amount in c.buckets] == [Decimal("104.21"), Decimal("421.05"), zero, zero, zero]
    assert (a.invoiced_90, c.invoiced_90) == (Decimal("1599.00"), Decimal("946.32"))
    # DSO = outstanding ÷ invoiced in the last 90 days × 90; for a one-currency organization the rate cancels.
    assert a.dso == _tenth(Decimal("999.00") * 90 / Decimal("1599.00")) == Decimal("56.2")
    assert c.dso == _tenth(Decimal("525.26") * 90 / Decimal("946.32")) == Decimal("50.0")
    assert c.dso == _tenth(Decimal("499.00") * 90 / Decimal("899.00"))  # Gamma's own period-end DSO in CHF
    total = response.context["converted_total"]
    assert total["buckets"] == [
        (label, amount)
        for label, amount in zip(
            [label for label, _a in a.buckets], [Decimal("203.21"), Decimal("1321.05"), zero, zero, zero], strict=True
        )
    ]
    assert total["dso"] == _tenth(
        (Decimal("999.00") + Decimal("525.26")) * 90 / (Decimal("1599.00") + Decimal("946.32"))
    )
    assert total["dso"] == Decimal("53.9")
    assert f"{format_money(Decimal('421.05'), 'EUR')}</span>" in page and "53.9 days" in page and "50.0 days" in page
    # Buckets added only when every organization ages in the same ones.
    from reports.models import ReportSettings

    with tenant_context(org_c):
        settings = ReportSettings.for_org(org_c)
        settings.aging_limits = "15,45"
        settings.save()
    response, page = _overview(user, currency="EUR")
    rows = {r.org.pk: r for r in response.context["rows"]}
    c = rows[org_c.pk].converted
    assert [amount for _label, amount in c.buckets] == [Decimal("104.21"), zero, Decimal("421.05"), zero]
    total = response.context["converted_total"]
    assert (total["buckets"], total["buckets_differ"], total["dso"]) == (None, True, Decimal("53.9"))
    assert "Aging not added up: the organizations age in different buckets." in page


def test_a_missing_rate_leaves_aging_and_dso_out_too(accountant):
    org_c, user = accountant["org_c"], accountant["user"]
    response, page = _overview(user, currency="EUR")  # Gamma has no EUR rate
    gamma = next(r for r in response.context["rows"] if r.org.pk == org_c.pk)
    assert gamma.converted.missing and gamma.converted.buckets == [] and gamma.converted.dso is None
    total = response.context["converted_total"]
    assert total["dso"] == Decimal("56.2") and total["buckets"][1][1] == Decimal("900.00")
    assert total["left_out"] == ["Gamma Holdings"]
