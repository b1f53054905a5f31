"""Sortable lists (issue 21 point 3): the keys are a whitelist (ledger_site.sorting); anything
else falls back to the default order; the invoice, payment and customer lists sort by them."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from ledger_site.sorting import SORTS, sort_order
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db


def test_unknown_keys_fall_back_to_the_default():
    assert sort_order("invoices", None) == ("-issued", ["-issue_date", "-pk"])
    assert sort_order("invoices", "total; DROP TABLE") == ("-issued", ["-issue_date", "-pk"])
    assert sort_order("invoices", "-total") == ("-total", ["-total", "-pk"])
    assert sort_order("customers", "balance") == ("balance", ["balance", "pk"])
    assert set(SORTS) == {"customers", "invoices", "payments"}


def test_lists_sort_by_the_column_asked_for():
    org, owner = make_org(name="Sort Co", slug="sort-co")
    with tenant_context(org, owner):
        big = CustomerFactory(organization=org, name="Aaron Big", code="BIG")
        small = CustomerFactory(organization=org, name="Zed Small", code="SMALL")
        a = issued(org, big, [("x", "1", "900.00", None)])
        b = issued(org, small, [("x", "1", "50.00", None)])
        pay(org, small, Decimal("20.00"), reference="P-SMALL")
        pay(org, big, Decimal("300.00"), reference="P-BIG")
    client = Client()
    client.force_login(owner)
    base = f"/o/{org.slug}"
    page = client.get(f"{base}/invoices/?sort=total").content.decode()
    assert page.index(b.number) < page.index(a.number)
    page = client.get(f"{base}/invoices/?sort=-total").content.decode()
    assert page.index(a.number) < page.index(b.number)
    assert 'aria-sort="descending"' in page
    page = client.get(f"{base}/payments/?sort=amount").content.decode()
    assert page.index("P-SMALL") < page.index("P-BIG")
    page = client.get(f"{base}/customers/?sort=-balance").content.decode()
    assert page.index("Aaron Big") < page.index("Zed Small")  # owes 600 vs 30
    page = client.get(f"{base}/customers/?sort=balance").content.decode()
    assert page.index("Zed Small") < page.index("Aaron Big")
    assert re.search(r'data-balance="600\.0+"', page)


def test_the_joined_balance_equals_the_balance_per_row_for_every_customer():
    """Sorted by balance, the customer list joins the balance rows (accounts.views.customers.with_balance);
    otherwise it reads one row per shown customer. Both must give every customer the same balance, the
    customers with no balance row (0) and with a balance in another currency than their own (not theirs: 0)
    included, and the joined order must be the order of those balances."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from accounts.models import Customer, CustomerBalance
    from accounts.views.customers import with_balance

    org, owner = make_org(name="Balance Co", slug="balance-co")
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org, name=f"C{n}", code=f"C{n}") for n in range(4)]
        issued(org, customers[0], [("x", "1", "900.00", None)])
        issued(org, customers[1], [("x", "1", "50.00", None)])
        pay(org, customers[2], Decimal("20.00"), reference="P-CREDIT")  # unapplied: a credit balance
        # customers[3] never posted: no balance row
        Customer.objects.filter(pk=customers[1].pk).update(currency="USD")  # its EUR row is not its own
        rows = CustomerBalance.objects.filter(organization=org).count()

    @settings(max_examples=15, deadline=None)
    @given(descending=st.booleans(), archived=st.sets(st.integers(0, 3)))
    def agree(descending, archived):
        base = Customer.objects.filter(organization=org).exclude(pk__in=[customers[i].pk for i in archived])
        per_row = dict(with_balance(base, joined=False).values_list("pk", "balance"))
        sign = "-" if descending else ""
        joined = list(with_balance(base, joined=True).order_by(f"{sign}balance", f"{sign}pk")
                      .values_list("pk", "balance"))
        assert dict(joined) == per_row
        assert joined == sorted(per_row.items(), key=lambda kv: (kv[1], kv[0]), reverse=descending)

    with tenant_context(org, owner):
        assert rows == 3
        assert dict(with_balance(Customer.objects.filter(organization=org), joined=True)
                    .values_list("code", "balance")) == {"C0": Decimal("900.00"), "C1": 0,
                                                         "C2": Decimal("-20.00"), "C3": 0}
        agree()


def test_the_list_sorted_by_overdue_pages_like_the_overdue_column_per_row():
    """Sorted by "Overdue", the customer list orders ids by one grouped join of the overdue sums
    (accounts.views.customers.SortedBySum, invoicing.views.panels.overdue_sums) instead of a subquery
    per customer. Every window of it must be that window of the per-row column's order (0 for a
    customer with nothing overdue: not yet due, paid, or no invoice), in both directions, whatever
    the filter leaves out, and show the per-row values."""
    from datetime import timedelta

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from accounts.models import Customer
    from accounts.models_org import today_in
    from accounts.views.customers import CUSTOMER_LIST_SUMS, SortedBySum, annotated

    org, owner = make_org(name="Overdue Co", slug="overdue-co")
    with tenant_context(org, owner):
        today = today_in(org)
        past, later = today - timedelta(days=40), today + timedelta(days=10)
        customers = [CustomerFactory(organization=org, name=f"C{n}", code=f"C{n}") for n in range(6)]
        for n, (price, due) in enumerate([("300.00", past), ("300.00", past), ("50.00", past), ("80.00", later)]):
            issued(org, customers[n], [("x", "1", price, None)], issue_date=past - timedelta(days=5), due_date=due)
        issued(org, customers[0], [("x", "1", "25.00", None)], issue_date=past - timedelta(days=5), due_date=past)
        issued(org, customers[4], [("x", "1", "70.00", None)], issue_date=past - timedelta(days=5),
                      due_date=past)
        pay(org, customers[4], Decimal("70.00"), reference="P-ALL")  # auto: its only open invoice
        # customers[5]: no invoice at all

    @settings(max_examples=25, deadline=None)
    @given(descending=st.booleans(), left_out=st.sets(st.integers(0, 5)), start=st.integers(0, 6),
           size=st.integers(1, 4))
    def agree(descending, left_out, start, size):
        base = Customer.objects.filter(organization=org).exclude(pk__in=[customers[i].pk for i in left_out])
        sign = "-" if descending else ""
        per_row = list(annotated(org, base, joined=False).order_by(f"{sign}overdue", f"{sign}pk"))
        window = SortedBySum(base, CUSTOMER_LIST_SUMS["overdue"](org), descending,
                             lambda qs: annotated(org, qs, joined=False))[start:start + size]
        expected = per_row[start:start + size]
        assert [c.pk for c in window] == [c.pk for c in expected]
        assert [c.overdue for c in window] == [c.overdue for c in expected]

    with tenant_context(org, owner):
        everyone = SortedBySum(Customer.objects.filter(organization=org), CUSTOMER_LIST_SUMS["overdue"](org), True,
                               lambda qs: annotated(org, qs, joined=False))[0:10]
        assert [(c.code, c.overdue) for c in everyone] == [
            ("C0", Decimal("325.00")), ("C1", Decimal("300.00")), ("C2", Decimal("50.00")),
            ("C5", 0), ("C4", 0), ("C3", 0)]
        agree()


def test_the_list_sorted_by_balance_pages_like_the_balance_column_per_row():
    """Sorted by balance, a page before the customers who owe 0 is read by walking the balance rows
    in order (accounts.views.customers.SortedByBalance); a page reaching them comes from the joined
    queryset. Every window must be that window of the per-row balance's order, in both directions,
    whatever the filter leaves out: ties, credit balances, a paid-up row of 0, a row in another
    currency than the customer's own (not its balance) and no row at all included."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from accounts.models import Customer
    from accounts.views.customers import SortedByBalance, annotated

    org, owner = make_org(name="Owes Co", slug="owes-co")
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org, name=f"C{n}", code=f"C{n}") for n in range(8)]
        for n, price in enumerate(["300.00", "300.00", "50.00", "80.00", "40.00"]):
            issued(org, customers[n], [("x", "1", price, None)])
        pay(org, customers[4], Decimal("40.00"), reference="P-ALL")  # paid up: a row of 0
        pay(org, customers[5], Decimal("20.00"), reference="P-CREDIT")  # a credit balance
        pay(org, customers[6], Decimal("35.00"), reference="P-CREDIT2")
        Customer.objects.filter(pk=customers[3].pk).update(currency="USD")  # its EUR row is not its own
        # customers[7]: no balance row

    def window(base, descending, start, size, fallback=None):
        sign = "-" if descending else ""
        ordered = annotated(org, base, joined=True).order_by(f"{sign}balance", f"{sign}pk")
        return SortedByBalance(org, base, descending, ordered if fallback is None else fallback,
                               lambda qs: annotated(org, qs, joined=False))[start:start + size]

    @settings(max_examples=30, deadline=None)
    @given(descending=st.booleans(), left_out=st.sets(st.integers(0, 7)), start=st.integers(0, 8),
           size=st.integers(1, 4))
    def agree(descending, left_out, start, size):
        base = Customer.objects.filter(organization=org).exclude(pk__in=[customers[i].pk for i in left_out])
        sign = "-" if descending else ""
        expected = list(annotated(org, base, joined=False).order_by(f"{sign}balance", f"{sign}pk"))
        got = window(base, descending, start, size)
        assert [c.pk for c in got] == [c.pk for c in expected[start:start + size]]
        assert [c.balance for c in got] == [c.balance for c in expected[start:start + size]]

    with tenant_context(org, owner):
        everyone = Customer.objects.filter(organization=org)
        # the top three owe something: read from the balance rows alone, never the fallback
        assert [(c.code, c.balance) for c in window(everyone, True, 0, 3, fallback=[])] == [
            ("C1", Decimal("300.00")), ("C0", Decimal("300.00")), ("C2", Decimal("50.00"))]
        assert [(c.code, c.balance) for c in window(everyone, False, 0, 2, fallback=[])] == [
            ("C6", Decimal("-35.00")), ("C5", Decimal("-20.00"))]
        agree()
