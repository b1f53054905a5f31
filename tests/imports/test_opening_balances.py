"""The opening-balances import: one open item per row (an "Opening balance" invoice, or a credit
note for a negative amount), through the real doors, with row errors, re-import as a no-op,
balances equal to the rows' sums, and aging by the rows' dates."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import period
from accounts.ledger_verify import verify_organization
from accounts.models import CustomerBalance, JournalEntry
from invoicing.models import CreditNote, Invoice
from ledger_site.tenancy import tenant_context
from reports.aging import aging, query_for
from tests.factories import make_org
from tests.imports.helpers import do_import
from tests.ledger_helpers import flat_rates

pytestmark = pytest.mark.django_db

CUSTOMERS = "code,name,currency\n0042,Acme Ltd,EUR\n0043,Beta Co,EUR\n0044,Gamma Inc,USD\n"
OPENING = ("customer,date,amount,currency,reference\n"
           "0042,2025-06-30,1200.00,EUR,old ledger\n"
           "0043,2025-09-15,-50.00,,overpaid\n"
           "0044,2026-11-20,300.00,USD,\n"
           "0042,2025-06-30,10.00,EUR,second item\n")
DATES = {"dates": {"date": "%Y-%m-%d"}}


def new_org():
    org, owner = make_org()
    with tenant_context(org):
        flat_rates(org, {"USD": "0.9"})  # Gamma's USD opening item posts with a rate (issue 17)
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    return org, owner


@pytest.fixture
def books():
    org, owner = new_org()
    with tenant_context(org, owner):
        yield org, owner


def balances(org):
    return {b.customer.code: b.amount for b in CustomerBalance.objects.filter(organization=org)
            .select_related("customer")}


def counts(org):
    return (Invoice.objects.filter(organization=org).count(), CreditNote.objects.filter(organization=org).count(),
            JournalEntry.objects.filter(organization=org).count())


def test_each_row_becomes_one_open_item_through_the_real_doors(books):
    org, owner = books
    report = do_import(org, "opening_balances", OPENING.encode(), actor=owner)
    assert report.committed, report.errors
    assert (report.new, report.totals) == (4, {"EUR": Decimal("1160.00"), "USD": Decimal("300.00")})
    assert report.written == {"opening_invoices": 3, "opening_credits": 1}

    item = Invoice.objects.get(number="OB-0042-20250630")
    assert (item.customer.code, item.status, item.total, item.amount_due) == ("0042", "issued", Decimal("1200.00"),
                                                                              Decimal("1200.00"))
    assert item.issue_date == item.due_date == date(2025, 6, 30) and item.reference == "old ledger"
    assert [line.description for line in item.lines.all()] == ["Opening balance"]
    entry = item.issue_entry
    assert (entry.idempotency_key, entry.effective_date) == ("import:opening:OB-0042-20250630", date(2025, 6, 30))
    assert sorted((line.account.system_key, line.amount) for line in entry.lines.all()) == [
        ("ar", Decimal("1200.00")), ("opening", Decimal("-1200.00"))]
    assert Invoice.objects.get(number="OB-0042-20250630-2").total == Decimal("10.00")

    credit = CreditNote.objects.get(number="OB-0043-20250915")
    assert (credit.customer.code, credit.total, credit.invoice, credit.issue_date) == (
        "0043", Decimal("50.00"), None, date(2025, 9, 15))
    assert credit.entry.idempotency_key == "import:opening:OB-0043-20250915"
    assert sorted((line.account.system_key, line.amount) for line in credit.entry.lines.all()) == [
        ("ar", Decimal("-50.00")), ("opening", Decimal("50.00"))]

    assert balances(org) == {"0042": Decimal("1210.00"), "0043": Decimal("-50.00"), "0044": Decimal("300.00")}
    assert verify_organization(org).ok

    # Payments see the items: oldest first pays the opening balance.
    paid = do_import(org, "payments", b"customer_code,received_date,amount,invoices\n0042,2025-07-10,1000.00,\n",
                     actor=owner)
    assert paid.committed, paid.errors
    item.refresh_from_db()
    assert item.amount_due == Decimal("200.00")


def test_each_bad_row_is_reported_on_its_row_and_nothing_is_written(books):
    org, owner = books
    period.close_period(org, date(2025, 1, 31), actor=owner)
    future = (date.today() + timedelta(days=40)).isoformat()
    text = ("customer,date,amount,currency\n"
            "0042,2025-06-30,100.00,EUR\n"        # fine
            "9999,2025-06-30,100.00,EUR\n"        # unknown customer
            "0044,2025-06-30,100.00,EUR\n"        # Gamma is billed in USD
            "0043,2025-06-30,0.00,\n"             # zero
            "0043,2025-02-30,10.00,\n"            # no such day
            f"0043,{future},10.00,\n"             # future
            "0043,2025-01-31,10.00,\n"            # on the lock date
            "0043,2025-06-30,10.001,\n")          # more decimals than EUR has
    before = counts(org)
    for commit in (False, True):
        report = do_import(org, "opening_balances", text.encode(), options=DATES, actor=owner, commit=commit)
        assert not report.committed
        assert [(e.row, e.column) for e in report.errors] == [
            (3, "customer"), (4, "currency"), (5, "amount"), (6, "date"), (7, "date"), (8, "date"), (9, "amount")]
        messages = [e.message for e in report.errors]
        assert "No customer has the code 9999" in messages[0]
        assert "kept in USD, not EUR" in messages[1]
        assert "zero" in messages[2]
        assert "in the future" in messages[4]
        assert messages[5].startswith("The books are closed up to 2025-01-31")
        assert "decimals" in messages[6]
    assert counts(org) == before
    assert not CustomerBalance.objects.filter(organization=org).exclude(amount=0).exists()


def test_importing_the_same_file_again_writes_nothing(books):
    org, owner = books
    assert do_import(org, "opening_balances", OPENING.encode(), actor=owner).committed
    before, money = counts(org), balances(org)
    again = do_import(org, "opening_balances", OPENING.encode(), actor=owner)
    assert again.ok and (again.new, again.existing) == (0, 4)
    assert sorted(again.existing_keys) == ["OB-0042-20250630", "OB-0042-20250630-2", "OB-0043-20250915",
                                           "OB-0044-20261120"]
    assert counts(org) == before and balances(org) == money
    changed = OPENING.replace("1200.00", "1300.00")
    report = do_import(org, "opening_balances", changed.encode(), actor=owner)
    assert [(e.row, e.column) for e in report.errors] == [(2, "amount")] and "another amount" in \
        report.errors[0].message
    assert counts(org) == before


def test_aging_buckets_each_item_by_its_own_date(books):
    org, owner = books
    as_of = date(2026, 6, 30)
    days = {"current": as_of, "1-30": as_of - timedelta(days=10), "31-60": as_of - timedelta(days=45),
            "61-90": as_of - timedelta(days=75), "over 90": as_of - timedelta(days=200)}
    amounts = {"current": "1.00", "1-30": "20.00", "31-60": "300.00", "61-90": "4000.00", "over 90": "50000.00"}
    text = "customer,date,amount\n" + "".join(f"0042,{days[k]},{amounts[k]}\n" for k in days)
    text += "0042,2026-01-02,-7.00\n"
    assert do_import(org, "opening_balances", text.encode(), actor=owner).committed
    report = aging(org, query_for(org, as_of, "EUR"))
    row = next(r for r in report.rows if r.code == "0042")
    assert row.buckets == [Decimal(amounts[k]) for k in days]
    assert row.unapplied == Decimal("7.00") and row.total == Decimal("54314.00")  # unapplied shown as a positive credit
    assert report.reconciles
    earlier = aging(org, query_for(org, as_of - timedelta(days=60), "EUR"))
    row = next(r for r in earlier.rows if r.code == "0042")
    # only what was dated by then: 61-90 (15 days old then), over 90 (140), and the credit of January
    assert (row.total, row.unapplied) == (Decimal("53993.00"), Decimal("7.00"))
    assert row.buckets == [Decimal(0), Decimal("4000.00"), Decimal(0), Decimal(0), Decimal("50000.00")]


ROW = st.tuples(st.sampled_from(["0042", "0043"]), st.integers(min_value=0, max_value=700),
                st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2)
                .filter(lambda d: d != 0))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=8))
def test_after_import_each_customer_owes_the_sum_of_its_rows(rows):
    org, owner = new_org()
    start = date(2025, 1, 1)
    text = "customer,date,amount\n" + "".join(f"{c},{start + timedelta(days=d)},{a}\n" for c, d, a in rows)
    expected = defaultdict(Decimal)
    for code, _d, amount in rows:
        expected[code] += amount
    with tenant_context(org, owner):
        report = do_import(org, "opening_balances", text.encode(), options=DATES, actor=owner)
        assert report.committed, report.errors
        got = {code: amount for code, amount in balances(org).items() if code in expected}
        assert got == dict(expected)
        assert sum(report.totals.values()) == sum(expected.values())
        assert verify_organization(org).ok


def test_the_demo_brings_its_imported_customers_opening_balances(books):
    from accounts.imports.demo import seed_demo_import, seed_demo_opening_balances

    org, owner = books
    seed_demo_import(org, owner)
    job = seed_demo_opening_balances(org, owner)
    assert job.status == "done" and job.report["new"] == 3, job.report
    assert {k: v for k, v in balances(org).items() if k.startswith("000")} == {
        "000812": Decimal("1480.00"), "000815": Decimal("265.50"), "000917": Decimal("-40.00")}
    from reminders.models import ReminderHold

    with tenant_context(org):  # the two overdue items' reminders are held (the import's option); not the credit
        assert sorted(h.invoice.customer.code for h in ReminderHold.objects.select_related("invoice__customer")) == [
            "000812", "000815"]
