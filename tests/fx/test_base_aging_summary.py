"""Issue 17: today's aging in the base currency read from the maintained summaries.

The stated rule (reports.aging.CONVERTED): a customer's row converts its open invoices per currency,
due date and invoice date, and its unapplied payments per currency, each group at today's rate and
rounded once to the base currency's minor unit; the totals row converts per currency and due date
(by invoice date: per currency, due and invoice date) over all customers. Hypothesis: for random
invoices and payments in EUR, USD, JPY (0 decimals) and KWD (3 decimals), on both bases, every page
the summary path gives equals a recomputation from the documents by that rule, and the as-of path
over every item gives the same customer rows.
"""

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.money import round_money
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from reports.aging import aging, default_source, make_buckets, query_for
from reports.models import AgingBasis
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import flat_rates
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db
D = Decimal
CURRENCIES = ["USD", "JPY", "KWD", "USD", "JPY", "KWD", "EUR"]
RATES = {"USD": D("0.853729"), "JPY": D("0.0061237"), "KWD": D("2.987654")}
PLACES = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}

# (customer index, invoice or payment, amount in minor units, due days ago, days from issue to due): few
# due days and two customers per foreign currency, so groups hold several invoices and customers.
op = st.tuples(st.integers(0, 6), st.sampled_from(["inv", "inv", "pay"]), st.integers(1, 99_999),
               st.sampled_from([-10, 0, 15, 45, 75, 100]), st.sampled_from([0, 10, 30]))


def _money(minor: int, currency: str) -> D:
    return D(minor).scaleb(-PLACES[currency])


def _expected(org, buckets, basis):
    """Rows and totals recomputed from the invoices and payments by the stated rule (an invoice dated
    ahead is not open yet: the summary holds it and the path corrects it)."""
    today = h.today()
    rate = {"EUR": D(1), **RATES}
    rows = defaultdict(lambda: [defaultdict(D), D(0)])  # customer → [bucket → amount, unapplied]
    totals, groups, org_groups = defaultdict(D), defaultdict(D), defaultdict(D)
    for inv in Invoice.objects.filter(organization=org, status="issued", amount_due__gt=0, issue_date__lte=today):
        groups[(inv.customer_id, inv.currency, inv.due_date, inv.issue_date)] += inv.amount_due
        # By invoice date there is no per-organization table: the totals group as the rows do, less the customer.
        org_groups[(inv.currency, inv.due_date, None if basis == AgingBasis.DUE else inv.issue_date)] += inv.amount_due
    unapplied, org_unapplied = defaultdict(D), defaultdict(D)
    for pay in Payment.objects.filter(organization=org):
        if pay.unapplied:
            unapplied[(pay.customer_id, pay.currency)] += pay.unapplied
            org_unapplied[pay.currency] += pay.unapplied

    def bucket(due, issue):
        age = (today - (due if basis == AgingBasis.DUE else issue)).days
        return next(b.index for b in buckets if b.contains(age))

    for (cust, cur, due, issue), amount in groups.items():
        rows[cust][0][bucket(due, issue)] += round_money(amount * rate[cur], "EUR")
    for (cust, cur), amount in unapplied.items():
        rows[cust][1] += round_money(amount * rate[cur], "EUR")
    for (cur, due, issue), amount in org_groups.items():
        totals[bucket(due, issue)] += round_money(amount * rate[cur], "EUR")
    total_unapplied = sum((round_money(a * rate[c], "EUR") for c, a in org_unapplied.items()), D(0))
    shaped = {cust: ([b[i] for i in range(len(buckets))], u, sum(b.values(), D(0)) - u)
              for cust, (b, u) in rows.items()}
    everything = ([totals[i] for i in range(len(buckets))], total_unapplied,
                  sum(totals.values(), D(0)) - total_unapplied)
    return shaped, everything


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(history=st.lists(op, min_size=1, max_size=12), basis=st.sampled_from([AgingBasis.DUE, AgingBasis.ISSUE]))
def test_base_aging_from_the_summary_follows_the_stated_rule(history, basis):
    org, _ = make_org()
    with tenant_context(org):
        flat_rates(org, RATES)
        customers = [CustomerFactory(organization=org, currency=code, name=f"C{i}")
                     for i, code in enumerate(CURRENCIES)]
        for index, kind, minor, due_back, days in history:
            customer = customers[index]
            amount = _money(minor, customer.currency)
            if kind == "inv":
                h.invoice(org, customer, amount, h.ago(due_back + days), h.ago(due_back))
            else:
                h.pay(org, customer, amount, h.ago(max(0, min(due_back, 30))), allocation="none")
        q = query_for(org, h.today(), in_base=True, basis=basis)
        assert default_source(org, q) == "summary"
        buckets = make_buckets(q.limits, q.basis)
        overdue = {i.customer_id for i in Invoice.objects.filter(organization=org, status="issued", amount_due__gt=0,
                                                                 issue_date__lte=h.today(), due_date__lt=h.today())}
        rows, everything = _expected(org, buckets, basis)
        for shape in [{}, {"page_size": None}, {"sort": "-total"}, {"only_overdue": True}]:
            report = aging(org, query_for(org, h.today(), in_base=True, basis=basis, **shape))
            got = {r.customer_id: (r.buckets, r.unapplied, r.total) for r in report.rows}
            wanted = {c: v for c, v in rows.items() if not shape.get("only_overdue") or c in overdue}
            assert got == wanted, shape
            e = report.everything
            assert (e.buckets, e.unapplied, e.total) == everything, shape
            assert e.customers == len(rows)
        # The as-of path over every item groups and rounds the customer rows the same way; its totals row
        # is the sum of the rows (the one figure that may differ from the summary path, by rounding).
        items = aging(org, query_for(org, h.today(), in_base=True, basis=basis, page_size=None), source="items")
        assert {r.customer_id: (r.buckets, r.unapplied, r.total) for r in items.rows} == rows
        assert items.everything.total == sum((r[2] for r in rows.values()), D(0))
