"""Issue 20 "Bad input", page by page: an as-of day before the books start or in the future, an empty
period and a window with nothing settled get a statement of what cannot be computed and why, never an
error, a division by zero or a blank. One small book: its first posting is 30 days ago."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory
from tests.reports.helpers import invoice, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def young_books(world):
    org = world.org
    with tenant_context(org, world.owner):
        today = org.today()
        customer = CustomerFactory(organization=org, name="Only Customer", currency="EUR")
        first = invoice(org, customer, "500.00", today - timedelta(days=30), today - timedelta(days=10),
                        actor=world.owner)
        pay(org, customer, "200.00", today - timedelta(days=5), allocation={first: "200.00"}, actor=world.owner)
    return {"org": org, "customer": customer, "client": world.client("owner"), "today": today}


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(script|style).*?</\1>", " ", html)).split())


BEFORE, AFTER = -400, 30  # days from today: before the books start (30 days ago), in the future

# page, its parameters for (before the books start, in the future), the statement each must show.
AS_OF_PAGES = [
    ("dashboard", "as_of", ("before the books start", "is in the future")),
    ("aging_report", "as_of", ("before the books start", "is after today")),
    ("open_items_report", "as_of", ("before the books start", "is after today")),
    ("insights_report", "as_of", ("before the books start", "is in the future")),
    ("dso_report", "as_of", ("before the books start", "is in the future")),
    ("collection_kpis", "as_of", ("before the books start", "is in the future")),
    ("balance_sheet", "as_of", ("before the books start", "is in the future")),
]


@pytest.mark.parametrize(("name", "param", "statements"), AS_OF_PAGES, ids=[p[0] for p in AS_OF_PAGES])
def test_an_as_of_day_before_the_books_or_in_the_future_is_stated(young_books, name, param, statements):
    url = reverse(name, kwargs={"org_slug": young_books["org"].slug})
    for offset, statement in zip((BEFORE, AFTER), statements, strict=True):
        day = (young_books["today"] + timedelta(days=offset)).isoformat()
        text = _text(young_books["client"].get(url, {param: day}))
        assert statement in text, (name, day, text[:600])
        assert day in text, (name, "the statement names the day")


def _period_pages(young_books):
    """page, parameters of an empty period (before the books start), the statement it must show."""
    today, customer = young_books["today"], young_books["customer"]
    start, end = (today - timedelta(days=400)).isoformat(), (today - timedelta(days=380)).isoformat()
    return [
        ("cash_flow", {}, {"start": start, "end": end}, "before the books start"),
        ("payment_behaviour", {}, {"window": "range", "start": start, "end": end},
         "No invoice was paid in this window"),
        ("collections_series", {}, {"grain": "month", "start": start, "end": end}, "Nothing was invoiced or collected"),
        ("profit_and_loss", {}, {"start": start, "end": end}, "Every income and expense figure of this period is 0"),
        ("customer_statement", {"pk": customer.pk}, {"start": start, "end": end}, "No transactions in this period."),
    ]


def test_an_empty_period_is_stated(young_books):
    for name, kwargs, params, statement in _period_pages(young_books):
        url = reverse(name, kwargs={"org_slug": young_books["org"].slug, **kwargs})
        text = _text(young_books["client"].get(url, params))
        assert statement in text, (name, text[:800])


def test_a_period_that_ends_before_it_starts_is_refused(young_books):
    today = young_books["today"]
    params = {"start": today.isoformat(), "end": (today - timedelta(days=5)).isoformat()}
    for name, kwargs in (("profit_and_loss", {}), ("cash_flow", {}), ("collections_series", {}),
                         ("customer_statement", {"pk": young_books["customer"].pk})):
        url = reverse(name, kwargs={"org_slug": young_books["org"].slug, **kwargs})
        text = _text(young_books["client"].get(url, params))
        assert "The start date is after the end date." in text or "after the end" in text, (name, text[:800])
