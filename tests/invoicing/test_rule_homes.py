"""The invoice rules have one home in Python (invoicing/models.py: the Q objects, queryset methods
and Invoice properties) and one in SQL (invoicing/invoice_sql.py). On generated invoices, at
generated instants around midnight in far time zones, both select the same invoices, and "today"
computed in SQL (`org_today`) is the organization's date computed in Python (`Organization.today`).
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Organization
from invoicing import invoice_sql
from invoicing.models import Invoice, InvoiceStatus
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org

pytestmark = pytest.mark.django_db

BASE = date(2026, 3, 1)
ZONES = ["Pacific/Kiritimati", "Pacific/Tongatapu", "Pacific/Auckland", "Asia/Tokyo", "UTC",
         "America/New_York", "Pacific/Honolulu", "Pacific/Pago_Pago", "Etc/GMT+12"]

days = st.integers(-3, 3).map(lambda n: BASE + timedelta(days=n))
amounts = st.sampled_from([Decimal("0"), Decimal("0.01"), Decimal("50"), Decimal("100")])
invoices = st.fixed_dictionaries({
    "status": st.sampled_from([InvoiceStatus.DRAFT, InvoiceStatus.ISSUED, InvoiceStatus.ISSUED,
                               InvoiceStatus.VOID]),
    "total": st.sampled_from([Decimal("0"), Decimal("100"), Decimal("250.50")]),
    "paid": amounts, "credited": amounts, "written_off": amounts,
    "due_date": days,
    "disputed": st.booleans(),
    "dispute_until": st.one_of(st.none(), days),
    # A partial dispute (issue 19) holds the invoice only when it covers the whole amount due.
    "disputed_amount": st.one_of(st.none(), amounts, st.just(Decimal("250.50"))),
})
# Instants within three hours of midnight UTC on the days around BASE: where far zones differ.
instants = st.tuples(st.integers(-3, 3), st.integers(-180, 180)).map(
    lambda t: datetime.combine(BASE + timedelta(days=t[0]), time(0), tzinfo=UTC) + timedelta(minutes=t[1]))


def _row(org, customer, n, spec) -> Invoice:
    total = spec["total"]
    paid, credited, written_off = (min(spec[k], total) for k in ("paid", "credited", "written_off"))
    credited = min(credited, total - paid)
    written_off = min(written_off, total - paid - credited)
    void = spec["status"] == InvoiceStatus.VOID
    return Invoice(
        organization=org, customer=customer, status=spec["status"], currency="EUR",
        number=None if spec["status"] == InvoiceStatus.DRAFT else f"T-{n}",
        issue_date=BASE - timedelta(days=30), due_date=spec["due_date"], total=total,
        amount_paid=paid, amount_credited=credited, amount_written_off=written_off,
        amount_due=Decimal(0) if void else total - paid - credited - written_off,
        disputed_at=datetime(2026, 2, 1, tzinfo=UTC) if spec["disputed"] else None,
        dispute_until=spec["dispute_until"] if spec["disputed"] else None,
        disputed_amount=(spec.get("disputed_amount") or None) if spec["disputed"] else None,
    )


def _sql_ids(org, fragment, params):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT i.id FROM invoicing_invoice i WHERE i.organization_id = %(org)s AND {fragment}",
                       {"org": org.pk, **params})
        return {r[0] for r in cursor.fetchall()}


@pytest.fixture
def rule_world():
    org, _ = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org)
    return org, customer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(invoices, min_size=1, max_size=12), zone=st.sampled_from(ZONES), now=instants)
def test_sql_and_python_select_the_same_invoices(rule_world, specs, zone, now):
    org, customer = rule_world
    org.timezone = zone
    with tenant_context(org), transaction.atomic():
        Organization.objects.filter(pk=org.pk).update(timezone=zone)
        rows = Invoice.objects.bulk_create([_row(org, customer, n, s) for n, s in enumerate(specs)])
        today = org.today(now)
        params = {"now": now, "tz": zone}
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {invoice_sql.org_today()}", params)
            assert cursor.fetchone()[0] == today, "SQL and Python agree on the organization's date"
        sql_today = invoice_sql.org_today()  # the day computed in SQL, not passed in
        mine = Invoice.objects.filter(organization=org)
        fresh = list(mine)
        rules = [
            ("open", invoice_sql.is_open(), mine.open(), lambda i: i.is_open),
            ("overdue", invoice_sql.is_overdue("i", sql_today), mine.overdue(today),
             lambda i: i.is_overdue_on(today)),
            ("disputed", invoice_sql.is_disputed("i", sql_today), mine.disputed_on(today),
             lambda i: i.is_disputed_on(today)),
            ("not disputed", f"NOT {invoice_sql.is_disputed('i', sql_today)}", mine.not_disputed_on(today),
             lambda i: not i.is_disputed_on(today)),
            ("can void", invoice_sql.can_void(), mine.can_void(), lambda i: i.can_void),
            ("can write off", invoice_sql.can_write_off(), mine.can_write_off(), lambda i: i.can_write_off),
        ]
        for name, fragment, queryset, predicate in rules:
            python = {i.pk for i in fresh if predicate(i)}
            assert _sql_ids(org, fragment, params) == python, name
            assert set(queryset.values_list("pk", flat=True)) == python, name
        transaction.set_rollback(True)
    assert rows  # generated rows were written (and rolled back)


def test_the_properties_use_the_organizations_today(rule_world, monkeypatch):
    """`is_overdue` / `is_disputed` are the rules above applied on `Organization.today()`."""
    from django.utils import timezone

    org, customer = rule_world
    now = datetime.combine(BASE, time(11, 30), tzinfo=UTC)  # 00:30 on BASE+1 in Tonga
    monkeypatch.setattr(timezone, "now", lambda: now)
    with tenant_context(org):
        Organization.objects.filter(pk=org.pk).update(timezone="Pacific/Tongatapu")
    org.timezone = "Pacific/Tongatapu"
    with tenant_context(org), transaction.atomic():
        spec = {"status": InvoiceStatus.ISSUED, "total": Decimal("100"), "paid": Decimal(0), "credited": Decimal(0),
                "written_off": Decimal(0), "due_date": BASE, "disputed": True, "dispute_until": BASE}
        invoice = Invoice.objects.bulk_create([_row(org, customer, 1, spec)])[0]
        invoice = Invoice.objects.get(pk=invoice.pk)
        assert invoice.today == BASE + timedelta(days=1)
        assert invoice.is_overdue and not invoice.is_disputed
        transaction.set_rollback(True)
