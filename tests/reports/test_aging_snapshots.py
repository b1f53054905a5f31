"""Issue 23 item 2: the aging as of a past day from period-end snapshots plus what moved since.

* after a random history before and after a period close (documents dated back and ahead, later and
  partial applications, un-applications, reversals, refunds, credit notes, write-offs, voids), the aging
  from the latest snapshot equals the as-of computation over every open item, row by row and in every
  total, for random past days, both bases, sorts, pages and filters;
* a snapshot is only written for a closed day, reopening the period deletes the snapshots after the new
  lock date, and the page uses a snapshot only within reach of the day.
"""

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.period import close_period, reopen_period
from ledger_site.tenancy import tenant_context
from reports import snapshots
from reports.aging import SNAPSHOT_REACH_DAYS, aging, default_source, query_for
from reports.models import AgingBasis, AgingSnapshot, SnapshotOpen
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import flat_rates
from tests.reports import helpers as h
from tests.reports.test_asof_property import OPS, _run
from tests.reports.test_customer_open import _queries, _shape

pytestmark = pytest.mark.django_db

LOCK = 30  # days ago
before = st.tuples(st.sampled_from(OPS), st.integers(LOCK + 1, 70), st.integers(1, 40), st.integers(0, 11))
after = st.tuples(st.sampled_from(OPS), st.integers(-3, LOCK + 5), st.integers(1, 40), st.integers(0, 11))


def _customers(org):
    customers = [CustomerFactory(organization=org, currency="EUR"), CustomerFactory(organization=org, currency="EUR"),
                 CustomerFactory(organization=org, currency="USD")]
    for c in customers:
        h.invoice(org, c, "99.99", h.ago(75), h.ago(60))
    return customers


def _play(org, customers, history):
    for step in history:
        with contextlib.suppress(ValidationError):  # refused actions change nothing (LedgerError included)
            _run(org, customers, *step)


@settings(deadline=None, max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(early=st.lists(before, min_size=3, max_size=14), late=st.lists(after, min_size=3, max_size=16),
       offsets=st.lists(st.integers(1, LOCK + 10), min_size=1, max_size=2), rotate=st.integers(0, 20))
def test_aging_from_a_snapshot_equals_the_item_path(early, late, offsets, rotate):
    org, owner = make_org()
    with tenant_context(org):
        flat_rates(org, {"USD": "0.9"})
        customers = _customers(org)
        _play(org, customers, early)
        close_period(org, h.ago(LOCK), actor=owner)
        assert snapshots.take(org, h.ago(LOCK + 10)) and snapshots.take(org, h.ago(LOCK))
        _play(org, customers, late)  # anything dated on or before the lock is refused
        days = sorted({h.ago(o) for o in offsets} | {h.ago(LOCK), h.ago(1)})
        queries = _queries(customers[1].name[:4])
        n = 0
        for day in days:
            assert default_source(org, query_for(org, day, "EUR")) == "snapshot"
            for currency in ("EUR", "USD"):
                for _ in range(3):
                    n += 1
                    extra = queries[(rotate + n) % len(queries)]
                    basis = (AgingBasis.DUE, AgingBasis.ISSUE)[(rotate + n // 2) % 2]
                    fast = _shape(aging(org, query_for(org, day, currency, basis=basis, **extra), source="snapshot"))
                    slow = _shape(aging(org, query_for(org, day, currency, basis=basis, **extra), source="items"))
                    assert fast == slow, (day, currency, basis, extra)


def test_snapshot_rows_and_what_moved_after_them():
    """A known book: the snapshot holds what was open at its day; a payment, a new invoice and a void
    after it show as of a later day exactly."""
    org, owner = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org, currency="EUR")
        first = h.invoice(org, customer, "100.00", h.ago(50), h.ago(40))
        h.invoice(org, customer, "40.00", h.ago(45), h.ago(35))
        close_period(org, h.ago(31), actor=owner)
        assert snapshots.take(org, h.ago(31)) is True
        assert snapshots.take(org, h.ago(31)) is False  # once
        rows = {(r.due_date, r.amount, r.count) for r in SnapshotOpen.objects.filter(organization=org)}
        assert rows == {(h.ago(40), Decimal("100.000"), 1), (h.ago(35), Decimal("40.000"), 1)}
        h.pay(org, customer, "60.00", h.ago(20), {first: "60.00"})
        third = h.invoice(org, customer, "25.00", h.ago(10), h.ago(5))
        h.void(third, h.ago(3))
        q = query_for(org, h.ago(8), "EUR", page_size=None)
        report = aging(org, q, source="snapshot")
        assert report.everything.total == Decimal("105") and report.everything.customers == 1
        assert report.rows[0].open_count == 3 and report.reconciles
        assert _shape(report) == _shape(aging(org, q, source="items"))
        later = aging(org, query_for(org, h.ago(2), "EUR"), source="snapshot")
        assert later.everything.total == Decimal("80") and later.rows[0].open_count == 2


def test_only_closed_days_are_snapshotted_and_reopening_drops_the_later_ones():
    org, owner = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org, currency="EUR")
        h.invoice(org, customer, "100.00", h.ago(80), h.ago(70))
        with pytest.raises(snapshots.SnapshotRefused):
            snapshots.take(org, h.ago(40))  # no period closed
        close_period(org, h.ago(40), actor=owner)
        with pytest.raises(snapshots.SnapshotRefused):
            snapshots.take(org, h.ago(39))
        assert not AgingSnapshot.objects.filter(organization=org).exists()
        assert snapshots.take(org, h.ago(60)) and snapshots.take(org, h.ago(40))
        assert snapshots.latest(org, h.ago(1)) == h.ago(40)
        reopen_period(org, h.ago(50), actor=owner, reason="a late invoice")
        assert list(AgingSnapshot.objects.filter(organization=org).values_list("day", flat=True)) == [h.ago(60)]
        assert set(SnapshotOpen.objects.filter(organization=org).values_list("day", flat=True)) == {h.ago(60)}
        # What was dated after the new lock can change now, and the page stays exact.
        h.invoice(org, customer, "7.00", h.ago(45), h.ago(44))
        q = query_for(org, h.ago(41), "EUR")
        assert aging(org, q).everything.total == Decimal("107")
        reopen_period(org, None, actor=owner, reason="all of it")
        assert not AgingSnapshot.objects.filter(organization=org).exists()
        assert default_source(org, q) == "items"


def test_month_ends_up_to_the_lock_date_and_the_reach():
    org, owner = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org, currency="EUR")
        h.invoice(org, customer, "100.00", h.ago(200), h.ago(190))
        assert snapshots.take_due(org) == []  # nothing closed
        lock = h.ago(100)
        close_period(org, lock, actor=owner)
        written = snapshots.take_due(org, months=3)
        assert len(written) == 3 and all((d + timedelta(days=1)).day == 1 and d <= lock for d in written)
        assert snapshots.take_due(org, months=3) == []
        newest = written[-1]
        assert default_source(org, query_for(org, newest + timedelta(days=SNAPSHOT_REACH_DAYS), "EUR")) == "snapshot"
        assert default_source(org, query_for(org, newest + timedelta(days=SNAPSHOT_REACH_DAYS + 1), "EUR")) == "items"
        assert default_source(org, query_for(org, newest - timedelta(days=1), "EUR")) in ("snapshot", "items")
        # The page reads the snapshot (tampered here; the writer never leaves it so).
        with connection.cursor() as cursor:
            cursor.execute("UPDATE reports_snapshotopen SET amount = amount + 1 WHERE day = %s", [newest])
        q = query_for(org, newest + timedelta(days=1), "EUR")
        assert aging(org, q).rows[0].total == Decimal("101")
        assert aging(org, q, source="items").rows[0].total == Decimal("100")


def test_the_daily_task_writes_each_organizations_month_ends_in_its_own_context():
    from reports.tasks import take_snapshots

    closed, open_org = make_org(), make_org()
    with tenant_context(closed[0]):
        h.invoice(closed[0], CustomerFactory(organization=closed[0], currency="EUR"), "10.00", h.ago(120), h.ago(100))
        close_period(closed[0], h.ago(60), actor=closed[1])
    written = take_snapshots()
    assert list(written) == [closed[0].pk] and open_org[0].pk not in written
    with tenant_context(closed[0]):
        days = list(AgingSnapshot.objects.filter(organization=closed[0]).values_list("day", flat=True))
        assert days and max(days) <= h.ago(60) and all((d + timedelta(days=1)).day == 1 for d in days)
        assert SnapshotOpen.objects.filter(organization=closed[0], day=min(days)).exists() or min(days) < h.ago(120)
    assert take_snapshots() == {}
