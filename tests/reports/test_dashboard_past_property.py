"""Property (issue 20): the dashboard as of a past day (reports.dashboard_past: today's summaries
corrected by what moved after the day) equals a plain recomputation from the document rows: every
bucket, count, overdue and due-soon figure, the unapplied money, the ten largest balances with their
overdue part and the invoices due within the week, on random histories and random days."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicing.models import CreditNote, Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from reports import dashboard
from reports.aging import bucket_of, make_buckets
from reports.models import AgingBasis, ReportSettings
from tests.factories import CustomerFactory, make_org
from tests.reports import helpers as h
from tests.reports.test_asof_property import op, play

pytestmark = pytest.mark.django_db
ZERO = Decimal(0)


def plain_board(org, currency, day):
    """The figures from reference_items (the definition over the raw rows), in a few lines each."""
    invoices = {i.pk: i for i in Invoice.objects.filter(organization=org)}
    currency_of = {("i", pk): i.currency for pk, i in invoices.items()}
    currency_of.update({("p", p.pk): p.currency for p in Payment.objects.filter(organization=org)})
    currency_of.update({("c", c.pk): c.currency for c in CreditNote.objects.filter(organization=org)})
    items = {k: v for k, v in h.reference_items(org, day).items() if currency_of[k] == currency}
    open_invoices = [(invoices[pk], amount) for (kind, pk), amount in items.items() if kind == "i"]
    buckets = make_buckets(ReportSettings.for_org(org).limits, AgingBasis.DUE)
    amounts = [ZERO] * len(buckets)
    for inv, amount in open_invoices:
        amounts[bucket_of((day - inv.due_date).days, buckets)] += amount
    net, late = defaultdict(Decimal), defaultdict(Decimal)
    for inv, amount in open_invoices:
        net[inv.customer_id] += amount
        if inv.due_date < day:
            late[inv.customer_id] += amount
    unapplied = {k: v for k, v in items.items() if k[0] != "i"}
    owner = {("p", p.pk): p.customer_id for p in Payment.objects.filter(organization=org)}
    owner.update({("c", c.pk): c.customer_id for c in CreditNote.objects.filter(organization=org)})
    for k, v in unapplied.items():
        net[owner[k]] -= v
    top = sorted(((cid, n, late[cid]) for cid, n in net.items() if n > 0), key=lambda t: (-t[1], t[0]))[:10]
    week = [(inv, a) for inv, a in open_invoices if day <= inv.due_date <= day + timedelta(days=7)]
    soon = sorted(week, key=lambda t: (t[0].due_date, -t[1], t[0].pk))[:10]
    overdue = [(inv, a) for inv, a in open_invoices if inv.due_date < day]
    return {
        "buckets": amounts,
        "open": (sum((a for _i, a in open_invoices), ZERO), len(open_invoices)),
        "overdue": (sum((a for _i, a in overdue), ZERO), len(overdue)),
        "due_soon": (sum((a for _i, a in week), ZERO), len(week)),
        "unapplied": sum(unapplied.values(), ZERO),
        "top": top,
        "soon": [(i.pk, a) for i, a in soon],
    }


def board_figures(d):
    return {
        "buckets": d.bucket_amounts,
        "open": (d.open_invoices, d.open_count),
        "overdue": (d.overdue, d.overdue_count),
        "due_soon": (d.due_soon, d.due_soon_count),
        "unapplied": d.unapplied,
        "top": [(t["customer"].pk, t["balance"], t["overdue"]) for t in d.top_debtors],
        "soon": [(i.pk, i.amount_due) for i in d.due_soon_invoices],
    }


@settings(
    deadline=None, max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(history=st.lists(op, min_size=4, max_size=22), picks=st.lists(st.integers(1, 70), min_size=2, max_size=4))
def test_the_dashboard_of_a_past_day_equals_a_plain_recomputation(history, picks):
    org, _ = make_org()
    with tenant_context(org):
        play(org, history, eur=3)
        for back in picks:
            day = h.ago(back)
            for currency in ("EUR", "USD"):
                d = dashboard.build(org, currency, as_of=day)
                assert d.past
                assert board_figures(d) == plain_board(org, currency, day), (day, currency)


def test_an_application_dated_before_its_invoice(world):
    """A payment received 20 days ago applied to an invoice issued 10 days ago: as of 15 days ago the
    invoice was not issued yet but the application was, so the definition says it stood at minus the
    applied part; today's summary must not be corrected for an invoice it does not count then."""
    org = world.org
    with tenant_context(org):
        c = CustomerFactory(organization=org, currency="EUR")
        h.invoice(org, c, "50.00", h.ago(40), h.ago(30))
        inv = h.invoice(org, c, "300.00", h.ago(10), h.ago(5))
        h.pay(org, c, "120.00", h.ago(20), {inv: "120.00"})
        for back in (15, 11, 10, 1):
            d = dashboard.build(org, "EUR", as_of=h.ago(back))
            assert board_figures(d) == plain_board(org, "EUR", h.ago(back)), back
        assert plain_board(org, "EUR", h.ago(15))["open"] == (Decimal("-70.00"), 2)
