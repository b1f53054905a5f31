"""Property: over random histories (later payments, partial payments, credit notes, un-allocations,
reversals, refunds, write-offs, voids, applications dated before the invoice), for every date,
the aging totals equal the AR control, each customer's items net to its balance, and the fast
and direct evaluations equal the literal definition."""

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.ledger import customer_balance
from invoicing.models import CreditNote, Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Allocation, Payment
from reports import statements
from reports.aging import aging, query_for
from reports.asof import ar_control, customer_net, open_items
from reports.spans import derived_spans, stored_spans
from reports.summaries import (
    derived_daily_flow,
    derived_open_by_due,
    derived_paid_invoices,
    stored_daily_flow,
    stored_open_by_due,
    stored_paid_invoices,
)
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import flat_rates
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db

OPS = ["invoice", "invoice", "pay", "pay", "apply_later", "unapply", "reverse", "refund", "credit", "write_off", "void"]
op = st.tuples(st.sampled_from(OPS), st.integers(0, 60), st.integers(1, 40), st.integers(0, 11))


def _pick(items, n):
    return items[n % len(items)] if items else None


def _run(org, customers, kind, offset, units, sel):
    customer = customers[sel % len(customers)]
    day = h.ago(offset)
    amount = Decimal(units) * Decimal("12.35")
    open_invoices = list(Invoice.objects.filter(customer=customer, status="issued", amount_due__gt=0).order_by("pk"))
    if kind == "invoice":
        h.invoice(org, customer, amount, day, day + timedelta(days=(sel % 4) * 15))
    elif kind == "pay":
        target = _pick(open_invoices, sel)
        allocation = ["auto", "none", "manual"][sel % 3]
        if allocation == "manual":
            allocation = {target: min(amount, target.amount_due)} if target else "none"
        h.pay(org, customer, amount, day, allocation)
    elif kind == "apply_later":
        sources = [p for p in Payment.objects.filter(customer=customer, reversed_at=None) if p.unapplied > 0]
        sources += [c for c in CreditNote.objects.filter(customer=customer) if c.unapplied > 0]
        source, target = _pick(sources, sel), _pick(open_invoices, units)
        if source and target:
            h.apply_later(source, target, min(source.unapplied, target.amount_due), day)
    elif kind == "unapply":
        live = list(
            Allocation.objects.filter(invoice__customer=customer, amount__gt=0, reversed_by__isnull=True)
            .select_related("invoice", "payment", "credit_note")
            .order_by("pk")
        )
        if live:
            h.unapply(_pick(live, sel), day)
    elif kind == "reverse":
        payment = _pick(list(Payment.objects.filter(customer=customer, reversed_at=None).order_by("pk")), sel)
        if payment:
            h.reverse(payment, max(day, payment.received_date))
    elif kind == "refund":
        payment = _pick(
            [p for p in Payment.objects.filter(customer=customer, reversed_at=None).order_by("pk") if p.unapplied > 0],
            sel,
        )
        if payment:
            h.refund(payment, min(amount, payment.unapplied), max(day, payment.received_date))
    elif kind == "credit":
        target = _pick(open_invoices, sel)
        if target and sel % 2:
            h.credit(target, min(amount, target.amount_due), day)
        else:
            h.credit(customer, amount, day)
    elif kind == "write_off":
        target = _pick(open_invoices, sel)
        if target:
            h.write_off(target, min(amount, target.amount_due), day)
    elif kind == "void":
        target = _pick([i for i in open_invoices if i.amount_due == i.total], sel)
        if target:
            h.void(target, max(day, target.issue_date))


def play(org, history, eur: int = 2) -> list:
    """`eur` customers in EUR and one in USD (a flat USD rate), an old invoice each (always something to
    work with), then the history's steps; a refused step (over-application, nothing open, ...) changes
    nothing. Inside the organization's tenant context; returns the customers."""
    customers = [CustomerFactory(organization=org, currency="EUR") for _ in range(eur)]
    customers.append(CustomerFactory(organization=org, currency="USD"))
    flat_rates(org, {"USD": "0.92"})
    for c in customers:
        h.invoice(org, c, "99.99", h.ago(75), h.ago(60))
    for step in history:
        with contextlib.suppress(ValidationError):
            _run(org, customers, *step)
    return customers


@settings(
    deadline=None, max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(history=st.lists(op, min_size=4, max_size=22))
def test_aging_totals_equal_ar_control_on_every_date(history):
    org, _ = make_org()
    with tenant_context(org):
        customers = play(org, history)
        assert stored_spans(org) == derived_spans(org)
        assert stored_open_by_due(org) == derived_open_by_due(org)
        assert stored_daily_flow(org) == derived_daily_flow(org)
        assert stored_paid_invoices(org) == derived_paid_invoices(org)
        days = sorted(
            {h.ago(76), h.ago(75), h.today(), h.ago(-4)}
            | {h.ago(s[1]) for s in history}
            | {h.ago(s[1]) - timedelta(days=1) for s in history}
        )
        days = days[:: max(1, len(days) // 12)]  # a dozen dates spread over the history, the ends included
        days = sorted(set(days) | {h.ago(76), h.today()})
        ids = [c.pk for c in customers]
        for day in days:
            fast = open_items(org, day)
            direct = open_items(org, day, ids)
            as_dict = {(i.kind, i.item_id): i.amount for i in fast}
            assert as_dict == {(i.kind, i.item_id): i.amount for i in direct} == h.reference_items(org, day), day
            for c in customers:
                mine = [i for i in fast if i.customer_id == c.pk]
                assert customer_net(mine) == customer_balance(c, day), (day, c.code)
            for currency in ("EUR", "USD"):
                report = aging(org, query_for(org, day, currency, page_size=None))
                assert report.everything.total == ar_control(org, day, currency) == report.control, (day, currency)
                assert report.reconciles
                assert sum(r.total for r in report.rows) == report.everything.total
        # Statements: opening + Σ transactions = closing = the customer's balance at the end.
        for c in customers:
            for start, end in ((days[0], days[-1]), (days[len(days) // 2], h.today())):
                st = statements.build(c, statements.BALANCE_FORWARD, start, end)
                assert st.opening == customer_balance(c, start - timedelta(days=1))
                assert st.opening + st.total_debits - st.total_credits == st.closing == customer_balance(c, end)
                open_st = statements.build(c, statements.OPEN_ITEM, start, end)
                assert customer_net(open_st.items) == open_st.closing == st.closing
