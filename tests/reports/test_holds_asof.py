"""Issue 20, gap 1: disputes, promises and payment behaviour as they stood at the end of a past day.

Random histories (the as-of property's ledger operations: partial payments, credits, write-offs,
un-applications, reversals, refunds, voids, back-dated applications) with dispute holds set, changed
and cleared and promises made and cancelled at controlled instants. For random days, every figure
equals a plain recomputation in this file: the dispute hold from the test's own log of what each
change left on the invoice, open amounts from the rows (tests.reports.helpers.reference_items), paid
invoices from the allocation and write-off rows. As of today, the history gives the hold columns'
figure (the live dashboard's)."""

import contextlib
from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicing.models import Invoice, WriteOff
from invoicing.services import InvoiceError, clear_dispute, set_dispute
from ledger_site.tenancy import tenant_context
from payments.models import Allocation
from reminders.disputes import DisputeError, raise_dispute, resolve
from reminders.models import PromiseToPay
from reports import dashboard as dash
from reports.asof import disputed_as_of, promises_as_of
from reports.forecast import forecast
from reports.insights import behaviour_report
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import flat_rates
from tests.reports import helpers as h
from tests.reports.test_asof_property import _run, op

pytestmark = pytest.mark.django_db

ZONE = "Pacific/Auckland"  # far from UTC: the end of a day is not midnight UTC
HOLD_OPS = ["set_whole", "set_part", "set_until", "clear", "raise", "resolve", "promise", "cancel_promise"]
hold_op = st.tuples(st.sampled_from(HOLD_OPS), st.integers(0, 60), st.integers(1, 40), st.integers(0, 11))


def _at(offset_days: int, minutes: int):
    """An instant `offset_days` ago in the organization's zone, `minutes` after 00:00 (up to a day)."""
    day = h.ago(offset_days)
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(ZONE)) + timedelta(minutes=minutes)


class Log:
    """What the test did and saw: the hold each change left on an invoice, promises made and cancelled."""

    def __init__(self):
        self.holds = defaultdict(list)  # invoice id -> [(instant, held, amount or None, until or None)]
        self.promises = []  # [invoice id, made at, until, cancelled at or None]

    def saw_hold(self, invoice_id, instant):
        inv = Invoice.objects.get(pk=invoice_id)
        self.holds[invoice_id].append((instant, inv.disputed_at is not None, inv.disputed_amount, inv.dispute_until))


def _hold_step(org, log, kind, minutes_step, units, sel, clock):
    from reminders.models_collections import Dispute

    open_invoices = list(Invoice.objects.filter(organization=org, status="issued", amount_due__gt=0).order_by("pk"))
    target = open_invoices[sel % len(open_invoices)] if open_invoices else None
    instant = clock()
    with mock.patch("django.utils.timezone.now", return_value=instant), contextlib.suppress(
            InvoiceError, DisputeError, ValidationError):
        if kind == "promise" and target:
            until = instant.astimezone(ZoneInfo(ZONE)).date() + timedelta(days=units % 20)
            p = PromiseToPay.objects.create(organization=org, invoice=target, until=until, promised_by="Ana")
            log.promises.append([target.pk, instant, until, None])
            assert p.created_at == instant
        elif kind == "cancel_promise":
            live = [p for p in log.promises if p[3] is None]
            if live:
                chosen = live[sel % len(live)]
                PromiseToPay.objects.filter(invoice_id=chosen[0], created_at=chosen[1]).update(cancelled_at=instant)
                chosen[3] = instant
        elif kind == "resolve":
            open_disputes = list(Dispute.objects.filter(organization=org).exclude(status="resolved").order_by("pk"))
            if open_disputes:
                d = open_disputes[sel % len(open_disputes)]
                resolve(d, outcome="accepted", note="credited", actor=None)
                log.saw_hold(d.invoice_id, instant)
        elif target is None:
            return
        elif kind == "raise":
            raise_dispute(target, reason="pricing", amount=min(Decimal(units), target.amount_due) if sel % 2 else None)
            log.saw_hold(target.pk, instant)
        elif kind == "clear":
            clear_dispute(target)
            log.saw_hold(target.pk, instant)
        else:
            amount = min(Decimal(units), target.amount_due) if kind == "set_part" else None
            until = instant.astimezone(ZoneInfo(ZONE)).date() + timedelta(days=units % 9) if kind == "set_until" \
                else None
            set_dispute(target, "wrong price", amount=amount, until=until)
            log.saw_hold(target.pk, instant)


def reference_disputed(org, log, day) -> dict[int, Decimal]:
    """The part of each invoice in dispute at the end of `day`: the last hold the test saw made on or
    before that day (in the organization's zone), on the invoice's open amount that day."""
    open_then = h.reference_items(org, day)
    out = {}
    for invoice_id, changes in log.holds.items():
        seen = [c for c in changes if c[0].astimezone(ZoneInfo(ZONE)).date() <= day]
        if not seen:
            continue
        _instant, held, amount, until = seen[-1]
        open_amount = open_then.get(("i", invoice_id), Decimal(0))
        if held and (until is None or until >= day) and open_amount > 0:
            part = min(open_amount, open_amount if amount is None else amount)
            if part > 0:
                out[invoice_id] = part
    return out


def reference_promises(log, day) -> dict[int, object]:
    out = {}
    for invoice_id, made, until, cancelled in log.promises:
        local = ZoneInfo(ZONE)
        if made.astimezone(local).date() <= day and until >= day and (
                cancelled is None or cancelled.astimezone(local).date() > day):
            out[invoice_id] = max(until, out.get(invoice_id, until))
    return out


def reference_paid(org, day, currency):
    """{invoice id: (customer, issue date, due date, paid day)} of invoices paid in full by payments
    as of the day, from the raw rows; and {customer: (overdue amount, count)} then."""
    allocs, by_payment, last = defaultdict(Decimal), defaultdict(Decimal), {}
    for a in Allocation.objects.filter(organization=org, effective_date__lte=day):
        allocs[a.invoice_id] += a.amount
        if a.payment_id:
            by_payment[a.invoice_id] += a.amount
        last[a.invoice_id] = max(a.effective_date, last.get(a.invoice_id, a.effective_date))
    written = defaultdict(Decimal)
    for w in WriteOff.objects.filter(organization=org, effective_date__lte=day):
        written[w.invoice_id] += w.amount
    paid, overdue = {}, defaultdict(lambda: [Decimal(0), 0])
    for inv in Invoice.objects.filter(organization=org, currency=currency).exclude(status="draft") \
            .select_related("void_entry"):
        live = inv.issue_date <= day and not (inv.void_entry and inv.void_entry.effective_date <= day)
        if not live:
            continue
        open_amount = inv.total - allocs[inv.pk] - written[inv.pk]
        if open_amount == 0 and written[inv.pk] == 0 and by_payment[inv.pk] > 0:
            paid_on = max(inv.issue_date, last[inv.pk])
            if day - timedelta(days=365) < paid_on <= day:
                paid[inv.pk] = (inv.customer_id, inv.issue_date, inv.due_date, paid_on)
        elif open_amount > 0 and inv.due_date < day:
            overdue[inv.customer_id][0] += open_amount
            overdue[inv.customer_id][1] += 1
    return paid, overdue


def _avg(values):
    return (Decimal(sum(values)) / len(values)).quantize(Decimal("0.1"), ROUND_HALF_UP) if values else None


@settings(deadline=None, max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ledger=st.lists(op, min_size=3, max_size=10), holds=st.lists(hold_op, min_size=3, max_size=10),
       probes=st.lists(st.integers(0, 62), min_size=1, max_size=3))
def test_figures_as_of_past_days_equal_a_recomputation(ledger, holds, probes):
    org, _ = make_org()
    org.timezone = ZONE
    org.save(update_fields=["timezone"])
    log = Log()
    ticks = iter(range(10_000))

    def clock():  # wall-clock instants in order, spread over the last 60 days
        n = next(ticks)
        return _at(60 - min(60, n * 6), (n * 397) % 1440)

    with tenant_context(org):
        customers = [CustomerFactory(organization=org, currency="EUR"),
                     CustomerFactory(organization=org, currency="EUR"),
                     CustomerFactory(organization=org, currency="USD")]
        flat_rates(org, {"USD": "0.92"})
        for c in customers:
            h.invoice(org, c, "99.99", h.ago(75), h.ago(60))
        for i in range(max(len(ledger), len(holds))):
            if i < len(ledger):
                with contextlib.suppress(ValidationError):
                    _run(org, customers, *ledger[i])
            if i < len(holds):
                _hold_step(org, log, *holds[i], clock=clock)
        invoices = list(Invoice.objects.filter(organization=org).exclude(status="draft").values_list("pk", flat=True))
        # Random days, and the day of each hold change and the day before it.
        changed = {c[0].astimezone(ZoneInfo(ZONE)).date() for changes in log.holds.values() for c in changes}
        changed |= {p[1].astimezone(ZoneInfo(ZONE)).date() for p in log.promises}
        days = sorted({h.ago(p) for p in probes} | {h.today()} | changed | {d - timedelta(days=1) for d in changed})
        figures_days = {h.ago(p) for p in probes} | {h.today()} | set(sorted(changed)[-1:])
        for day in days:
            assert disputed_as_of(org, day, invoices) == reference_disputed(org, log, day), day
            assert promises_as_of(org, day, invoices) == reference_promises(log, day), day
            if day not in figures_days:
                continue
            for currency in ("EUR", "USD"):
                expected = reference_disputed(org, log, day)
                mine = {pk: part for pk, part in expected.items()
                        if Invoice.objects.get(pk=pk).currency == currency}
                d = dash._build_as_of(org, currency, day)
                assert (d.disputed, d.disputed_count) == (sum(mine.values(), Decimal(0)), len(mine)), (day, currency)
                paid, overdue = reference_paid(org, day, currency)
                rows, _n = behaviour_report(org, currency, day, page_size=None)
                got = {r.customer_id: r for r in rows}
                by_customer = defaultdict(list)
                for customer_id, issue, due, paid_on in paid.values():
                    by_customer[customer_id].append((issue, due, paid_on))
                assert set(got) == set(by_customer) | set(overdue), (day, currency)
                for customer_id, row in got.items():
                    mine_paid = by_customer.get(customer_id, [])
                    assert row.paid == len(mine_paid)
                    assert row.days_to_pay == _avg([(p - i).days for i, _d, p in mine_paid])
                    assert row.days_late == _avg([max((p - d).days, 0) for _i, d, p in mine_paid])
                    assert (row.overdue, row.overdue_count) == tuple(overdue.get(customer_id, (Decimal(0), 0)))
                # The forecast of that day spreads exactly what was open then.
                f = forecast(org, currency, day)
                open_then = sum((a for (k, pk), a in h.reference_items(org, day).items()
                                 if k == "i" and a > 0 and Invoice.objects.get(pk=pk).currency == currency), Decimal(0))
                assert f.overdue.amount + f.total_13_weeks + f.later.amount == open_then
        # As of today the history says what the hold columns say (the live dashboard's figure).
        for currency in ("EUR", "USD"):
            live = dash.build(org, currency)
            past_path = dash._build_as_of(org, currency, org.today())
            assert (live.disputed, live.disputed_count) == (past_path.disputed, past_path.disputed_count)
    assert timezone.now() > _at(0, 0) - timedelta(days=1)  # the clock is the real one again


@pytest.fixture
def held_book():
    """Known answers: an invoice of 500 disputed in full 20 days ago, narrowed to 120 twelve days ago,
    cleared 5 days ago; paid 200 eight days ago. A promise made 15 days ago to pay by 10 days ago."""
    org, owner = make_org(timezone=ZONE)
    with tenant_context(org):
        c = CustomerFactory(organization=org, currency="EUR")
        inv = h.invoice(org, c, "500.00", h.ago(40), h.ago(30))
        other = h.invoice(org, c, "80.00", h.ago(40), h.ago(10))
        with mock.patch("django.utils.timezone.now", return_value=_at(20, 600)):
            set_dispute(inv, "wrong quantity")
        with mock.patch("django.utils.timezone.now", return_value=_at(12, 600)):
            set_dispute(inv, "wrong quantity", amount=Decimal("120.00"))
        with mock.patch("django.utils.timezone.now", return_value=_at(5, 600)):
            clear_dispute(inv)
        until = h.ago(10)  # (h.ago reads the clock: outside the patched one)
        with mock.patch("django.utils.timezone.now", return_value=_at(15, 600)):
            PromiseToPay.objects.create(organization=org, invoice=other, until=until, promised_by="Bo")
        h.pay(org, c, "200.00", h.ago(8), {inv: "200.00"})
        yield org, owner, c, inv, other


def test_dispute_and_promise_of_known_days(held_book):
    org, owner, c, inv, other = held_book
    with tenant_context(org):
        ids = [inv.pk, other.pk]
        assert disputed_as_of(org, h.ago(21), ids) == {}
        assert disputed_as_of(org, h.ago(20), ids) == {inv.pk: Decimal("500.000")}  # the whole of it
        assert disputed_as_of(org, h.ago(12), ids) == {inv.pk: Decimal("120.000")}  # narrowed that day
        assert disputed_as_of(org, h.ago(8), ids) == {inv.pk: Decimal("120.000")}  # 300 still open
        assert disputed_as_of(org, h.ago(5), ids) == {}  # cleared that day
        assert disputed_as_of(org, h.today(), ids) == {}
        assert promises_as_of(org, h.ago(16), ids) == {}
        assert promises_as_of(org, h.ago(15), ids) == {other.pk: h.ago(10)}
        assert promises_as_of(org, h.ago(10), ids) == {other.pk: h.ago(10)}
        assert promises_as_of(org, h.ago(9), ids) == {}  # the promised day has passed
        d = dash.build(org, "EUR", as_of=h.ago(7))
        assert (d.disputed, d.disputed_count) == (Decimal("120.000"), 1)
        assert dash.build(org, "EUR").disputed == 0


def test_open_items_and_dashboard_pages_as_of(held_book, client):
    org, owner, c, inv, other = held_book
    client.force_login(owner)
    base = f"/o/{org.slug}/reports/open-items/"
    page = client.get(base, {"as_of": h.ago(15).isoformat()}).content.decode()
    assert 'data-disputed="500.000"' in page
    assert f'data-promised="{h.ago(10).isoformat()}"' in page
    page = client.get(base, {"as_of": h.ago(7).isoformat()}).content.decode()
    assert 'data-disputed="120.000"' in page and "data-promised" not in page
    page = client.get(base).content.decode()
    assert "data-disputed" not in page
    page = client.get(f"/o/{org.slug}/", {"as_of": h.ago(7).isoformat()}).content.decode()
    assert "in dispute on 1 invoice" in page


def test_payment_behaviour_page_as_of(held_book, client):
    org, owner, c, inv, other = held_book
    with tenant_context(org):
        h.pay(org, c, "80.00", h.ago(3), {other: "80.00"})
    client.force_login(owner)
    url = f"/o/{org.slug}/reports/insights/"
    today = client.get(url).content.decode()
    assert "Overdue now" in today
    then = client.get(url, {"as_of": h.ago(4).isoformat()}).content.decode()
    assert "Overdue then" in then
    with tenant_context(org):
        rows, _n = behaviour_report(org, "EUR", h.ago(4), page_size=None)
        assert [(r.paid, r.overdue, r.overdue_count) for r in rows] == [(0, Decimal("380.000"), 2)]
        rows, _n = behaviour_report(org, "EUR", h.today(), page_size=None)
        assert [(r.paid, r.overdue, r.days_late) for r in rows] == [(1, Decimal("300.000"), Decimal("7.0"))]
    for bad, words in ((h.ago(-3).isoformat(), "in the future"), (h.ago(400).isoformat(), "before the books start"),
                       ("2001-01-01", "within ten years"), ("not-a-day", "Enter a valid date")):
        page = client.get(url, {"as_of": bad}).content.decode()
        assert "data-problem" in page and words in page, bad


def test_an_invoice_paid_then_and_unapplied_since_counts_as_paid_then():
    org, _owner = make_org()
    with tenant_context(org):
        c = CustomerFactory(organization=org, currency="EUR")
        inv = h.invoice(org, c, "100.00", h.ago(30), h.ago(20))
        h.pay(org, c, "100.00", h.ago(15), {inv: "100.00"})
        h.unapply(Allocation.objects.get(invoice=inv), h.ago(5))
        rows, _n = behaviour_report(org, "EUR", h.ago(10), page_size=None)
        assert [(r.paid, r.days_to_pay, r.days_late, r.overdue) for r in rows] == [
            (1, Decimal("15.0"), Decimal("5.0"), Decimal(0))]
        rows, _n = behaviour_report(org, "EUR", h.today(), page_size=None)
        assert [(r.paid, r.overdue, r.overdue_count) for r in rows] == [(0, Decimal("100.000"), 1)]
        assert forecast(org, "EUR", h.ago(10)).total_13_weeks + forecast(org, "EUR", h.ago(10)).overdue.amount == 0
