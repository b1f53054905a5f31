"""Promises to pay, checked (issue 19 #3): kept when payments applied by the promised date plus
grace cover the amount; un-applied money does not count, whenever it was un-applied."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_site.tenancy import tenant_context
from reminders import holds, promises
from reminders.models import PromiseToPay
from reminders.models_collections import Notification
from reminders.promises import Applied, outcome
from tests.factories import add_member
from tests.payments.helpers import pay
from tests.reminders.helpers import TODAY, invoice_due, org_with_customer

START = date(2026, 3, 1)
payments_st = st.lists(st.tuples(
    st.integers(-5, 25),  # day of the payment, from the promise's day
    st.sampled_from([Decimal("10"), Decimal("25.50"), Decimal("40"), Decimal("100")]),
    st.one_of(st.none(), st.integers(0, 30)),  # un-applied that many days later, or never
), max_size=6)


@given(payments=payments_st, promised=st.sampled_from([Decimal("40"), Decimal("100")]),
       until=st.integers(0, 15), grace=st.integers(0, 5), today=st.integers(0, 40))
@settings(max_examples=300, deadline=None)
def test_kept_or_broken_from_payment_timings(payments, promised, until, grace, today):
    applied = []
    for day, amount, undone_after in payments:
        applied.append(Applied(START + timedelta(days=day), amount))
        if undone_after is not None:
            applied.append(Applied(START + timedelta(days=day + undone_after), -amount,
                                   undoes_day=START + timedelta(days=day)))
    deadline = until + grace
    # The oracle: what stays applied, paid between the promise's day and the deadline.
    kept = sum((a for d, a, u in payments if 0 <= d <= deadline and u is None), Decimal(0)) >= promised
    result = outcome(promised, START, START + timedelta(days=until), grace, applied, START + timedelta(days=today))
    if today <= deadline:
        assert result == ""
    else:
        assert result == ("kept" if kept else "broken")


@pytest.mark.django_db
@given(plan=st.lists(st.tuples(st.integers(-25, -1), st.sampled_from(["30", "60", "120"]), st.booleans()),
                     min_size=0, max_size=3))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
def test_check_promises_on_real_allocations(plan):
    """Real payments and un-applications (payments.allocation.unapply, dated later) against a promise of
    120.00 made 20 days ago for 10 days ago; grace 3 days."""
    from payments.allocation import unapply
    from payments.models import Allocation

    org, owner, customer = org_with_customer()
    clerk = add_member(org)
    invoice = invoice_due(org, customer, TODAY - timedelta(days=30), price="500.00")  # 1,200 due
    with tenant_context(org):
        promise = holds.promise_to_pay(invoice, TODAY - timedelta(days=10), "Jane", amount=Decimal("120"),
                                       today=TODAY - timedelta(days=20))
        PromiseToPay.objects.filter(pk=promise.pk).update(created_at=promise.created_at - timedelta(days=20))
        expected = Decimal(0)
        for day, amount, undo in plan:
            received = TODAY + timedelta(days=day)
            payment = pay(org, customer, amount, allocation={invoice.pk: Decimal(amount)}, received_date=received)
            if undo:
                unapply(Allocation.objects.get(payment=payment), "bounced", effective_date=TODAY)
            elif TODAY - timedelta(days=20) <= received <= TODAY - timedelta(days=7):
                expected += Decimal(amount)
        counts = promises.check_promises(org, TODAY)
        promise.refresh_from_db()
        assert promise.outcome == ("kept" if expected >= 120 else "broken")
        assert counts[promise.outcome] == 1
        assert promises.check_promises(org, TODAY) == {"kept": 0, "broken": 0}  # decided once
        told = Notification.objects.filter(kind="promise_broken").values_list("user_id", flat=True)
        assert set(told) == (set() if promise.outcome == "kept" else {owner.pk, clerk.pk})
