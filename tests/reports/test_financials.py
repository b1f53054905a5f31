"""Balance sheet and cash-flow statement from the general ledger (issue 20): a hand-made book,
the pages and bad input, and for generated histories the balance sheet balances, the cash flow
reconciles, and both equal sums over the raw journal lines."""

import contextlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from accounts.models import Account, JournalLine
from ledger_site.tenancy import tenant_context
from reports.financials import balance_sheet, cash_flow, is_cash
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h
from tests.reports.test_asof_property import _run, op

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def financials_book():
    org, owner = make_org(name="Books Co", slug="books-co")
    with tenant_context(org):
        c = CustomerFactory(organization=org, currency="EUR")
        july = h.invoice(org, c, "3000.00", date(2025, 7, 15), date(2025, 8, 14))
        h.invoice(org, c, "3000.00", date(2025, 8, 10), date(2025, 9, 9))
        h.pay(org, c, "1000.00", date(2025, 9, 5), {july: "1000.00"})
        h.pay(org, c, "1000.00", date(2025, 11, 1), {july: "1000.00"})
    return {"org": org, "owner": owner}


def _by_key(lines):
    return {x.account.system_key: x.amount for x in lines}


def test_known_answers(financials_book):
    org = financials_book["org"]
    with tenant_context(org):
        bs = balance_sheet(org, "EUR", date(2025, 9, 30))
        cf = cash_flow(org, "EUR", date(2025, 7, 1), date(2025, 9, 30))
        q4 = cash_flow(org, "EUR", date(2025, 10, 1), date(2025, 12, 31))
    assert _by_key(bs.assets)["ar"] == D("5000.00") and _by_key(bs.assets)["bank"] == D("1000.00")
    assert (bs.total_assets, bs.total_liabilities, bs.earnings, bs.balances) == (D("6000.00"), D(0), D("6000.00"),
                                                                                True)
    assert (cf.net_profit, _by_key(cf.adjustments)["ar"], cf.net_change, cf.cash_movement) == (
        D("6000.00"), D("-5000.00"), D("1000.00"), D("1000.00"))
    assert cf.reconciles and (cf.cash_open, cf.cash_close) == (D(0), D("1000.00"))
    assert (q4.net_profit, _by_key(q4.adjustments)["ar"], q4.net_change, q4.cash_close) == (
        D(0), D("1000.00"), D("1000.00"), D("2000.00"))


def test_pages_and_bad_input(financials_book):
    org, owner = financials_book["org"], financials_book["owner"]
    client = Client()
    client.force_login(owner)
    bs_url = reverse("balance_sheet", kwargs={"org_slug": org.slug})
    cf_url = reverse("cash_flow", kwargs={"org_slug": org.slug})
    text = client.get(bs_url, {"as_of": "2025-09-30"}).content.decode()
    assert 'data-figure="assets"><strong>6,000.00' in text and 'data-balances="yes"' in text
    text = client.get(cf_url, {"start": "2025-07-01", "end": "2025-09-30"}).content.decode()
    assert 'data-reconciles="yes"' in text and 'data-figure="net-change"><strong>1,000.00' in text
    assert "before the books start" in client.get(bs_url, {"as_of": "2025-01-01"}).content.decode()
    assert "start date is after the end date" in client.get(cf_url, {"start": "2025-09-30",
                                                                      "end": "2025-07-01"}).content.decode()


@settings(deadline=None, max_examples=8, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=st.lists(op, min_size=4, max_size=22), bounds=st.tuples(st.integers(0, 80), st.integers(0, 80)))
def test_balances_reconciles_and_equals_the_journal_lines(history, bounds):
    org, _ = make_org()
    with tenant_context(org):
        customers = [CustomerFactory(organization=org, currency="EUR"), CustomerFactory(organization=org,
                                                                                        currency="USD")]
        for step in history:
            with contextlib.suppress(ValidationError):
                _run(org, customers, *step)
        start, end = sorted(h.ago(b) for b in bounds)
        accounts = {a.pk: a for a in Account.objects.filter(organization=org)}
        lines = list(JournalLine.objects.filter(entry__organization=org).values_list(
            "account_id", "currency", "amount", "entry__effective_date"))
        for currency in ("EUR", "USD"):
            bs = balance_sheet(org, currency, end)
            cf = cash_flow(org, currency, start, end)
            assert bs.balances and cf.reconciles, (currency, start, end)
            mine = [(accounts[a], amount, day) for a, cur, amount, day in lines if cur == currency]
            assert bs.total_assets == sum((x for acc, x, day in mine if acc.type == "asset" and day <= end), D(0))
            assert bs.earnings == -sum((x for acc, x, day in mine if acc.type in ("income", "expense")
                                        and day <= end), D(0))
            assert cf.cash_movement == sum((x for acc, x, day in mine if is_cash(acc) and start <= day <= end), D(0))
            assert cf.cash_open == sum((x for acc, x, day in mine if is_cash(acc) and day < start), D(0))
            assert cf.net_profit == -sum((x for acc, x, day in mine if acc.type in ("income", "expense")
                                          and start <= day <= end), D(0))
            assert balance_sheet(org, currency, start - timedelta(days=1)).balances
