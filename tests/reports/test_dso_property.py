"""Property (issue 20): over random histories (partial payments, credits, write-offs, reversals,
refunds, voids, un-allocations), DSO by the three formulas, best-possible DSO and the collection
KPIs as of random past days equal a plain recomputation from the document rows, to the cent and
to the tenth of a day."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from invoicing.models import CreditNote, Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from reports import dashboard, dso, kpis
from tests.factories import make_org
from tests.reports import helpers as h
from tests.reports.test_asof_property import op, play

pytestmark = pytest.mark.django_db
ZERO = Decimal(0)


def _tenth(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.1"), ROUND_HALF_UP)


class Plain:
    """The figures from the rows, in a few lines each (no summaries, no SQL)."""

    def __init__(self, org, currency):
        self.org, self.currency = org, currency
        self.invoices = list(
            Invoice.objects.filter(organization=org, currency=currency)
            .exclude(status="draft")
            .select_related("void_entry")
        )
        self.kind_currency = {("i", i.pk): i.currency for i in Invoice.objects.filter(organization=org)}
        self.kind_currency.update({("p", p.pk): p.currency for p in Payment.objects.filter(organization=org)})
        self.kind_currency.update({("c", c.pk): c.currency for c in CreditNote.objects.filter(organization=org)})

    def items(self, day):
        return {k: v for k, v in h.reference_items(self.org, day).items() if self.kind_currency[k] == self.currency}

    def ar(self, day):
        return sum((v if k[0] == "i" else -v for k, v in self.items(day).items()), ZERO)

    def sales(self, start, end, seen_at=None):
        seen_at = seen_at or end
        return sum(
            (
                i.total
                for i in self.invoices
                if start <= i.issue_date <= end and not (i.void_entry and i.void_entry.effective_date <= seen_at)
            ),
            ZERO,
        )

    def open_invoices(self, day):
        due = {i.pk: i for i in self.invoices}
        return [(due[k[1]], v) for k, v in self.items(day).items() if k[0] == "i"]

    def count_back(self, end, first_day):
        left, days, month_end = self.ar(end), ZERO, end
        while left > 0:
            month_start = month_end.replace(day=1)
            if month_end < first_day:
                return None
            n = (month_end - month_start).days + 1
            s = self.sales(month_start, month_end, seen_at=end)
            if s >= left:
                return days + left / s * n
            days, left, month_end = days + n, left - s, month_start - timedelta(days=1)
        return ZERO


@settings(
    deadline=None,
    max_examples=10,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=st.lists(op, min_size=4, max_size=20),
    picks=st.lists(st.integers(0, 80), min_size=3, max_size=5),
    kind=st.sampled_from(dso.KINDS),
)
def test_dso_and_kpis_equal_a_plain_recomputation(history, picks, kind):
    org, _ = make_org()
    with tenant_context(org):
        play(org, history)
        first = dso.books_start(org)
        for currency in ("EUR", "USD"):
            plain = Plain(org, currency)
            for back in picks:
                end = h.ago(back)
                if end < first:
                    with pytest.raises(dso.Unavailable, match="before the books start"):
                        dso.for_period(org, currency, kind, end)
                    continue
                k = kpis.kpis(org, currency, kind, end)
                if end < h.today():  # the dashboard as it stood then
                    board = dashboard.build(org, currency, as_of=end)
                    assert board.outstanding == plain.ar(end)
                    assert (
                        sum(board.bucket_amounts, ZERO)
                        == board.open_invoices
                        == sum((v for _i, v in plain.open_invoices(end)), ZERO)
                    )
                    assert board.overdue == sum((v for i, v in plain.open_invoices(end) if i.due_date < end), ZERO)
                    assert board.open_invoices - board.unapplied == board.outstanding
                d = k.d
                start = dso.period_start(kind, end)
                n = (end - start).days + 1
                sales, ar_end, ar_open = plain.sales(start, end), plain.ar(end), plain.ar(start - timedelta(days=1))
                current = sum((v for i, v in plain.open_invoices(end) if i.due_date >= end), ZERO)
                assert (d.sales, d.ar_close, d.ar_open, d.current) == (sales, ar_end, ar_open, current), (end, kind)
                expect = {
                    dso.PERIOD_END: _tenth(ar_end / sales * n) if sales > 0 else None,
                    dso.AVERAGE: _tenth((ar_open + ar_end) / 2 / sales * n) if sales > 0 else None,
                }
                cb = plain.count_back(end, first)
                expect[dso.COUNT_BACK] = None if cb is None else _tenth(cb)
                assert {f: d.value(f) for f in expect} == expect, (end, kind, currency)
                for f, value in expect.items():
                    assert (value is None) == bool(d.reason(f))  # a blank figure always says why
                assert d.best == (_tenth(current / sales * n) if sales > 0 else None)
                collectable = ar_open + sales - current
                assert k.cei == (_tenth((ar_open + sales - ar_end) * 100 / collectable) if collectable > 0 else None)
                open_total = sum((v for _i, v in plain.open_invoices(end)), ZERO)
                risky = sum((v for i, v in plain.open_invoices(end) if i.issue_date < end - timedelta(days=90)), ZERO)
                assert (k.open_invoices, k.at_risk) == (open_total, risky)
                assert k.at_risk_rate == (_tenth(risky * 100 / open_total) if open_total > 0 else None)
                # The drill-down lists add up to the inputs they stand behind.
                for which, amount in (
                    ("sales", sales),
                    ("current", current),
                    ("at_risk", risky),
                    ("open_end", open_total),
                ):
                    assert kpis.total(kpis.invoices_behind(org, currency, start, end, which)) == amount, which


def test_plain_count_back_matches_a_known_answer():
    """The recomputation itself, on the numbers of test_dso's book (guards the guard)."""

    class Fake(Plain):
        def __init__(self):
            pass

        def ar(self, day):
            return Decimal(5000)

        def sales(self, start, end, seen_at=None):
            return {7: Decimal(3000), 8: Decimal(3000)}.get(start.month, ZERO)

    assert _tenth(Fake().count_back(date(2025, 9, 30), date(2025, 7, 15))) == Decimal("81.7")
