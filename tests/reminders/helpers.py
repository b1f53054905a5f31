"""Reminder test helpers: an organization with a customer and issued invoices, and a simulated clock.

Time is injected, never frozen: scan(now=...) and deliver(now=...) take the clock, and every
date of the simulated calendar is derived from it.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import DatabaseError, connection, transaction

from ledger_site.tenancy import tenant_context
from reminders.outbox import deliver
from reminders.scheduler import scan
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

TODAY = date.today()


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def org_with_customer(**customer_fields):
    org, owner = make_org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org, **customer_fields)
    return org, owner, customer


def invoice_due(org, customer, due: date, price="100.00", tax="20"):
    """An issued invoice of 2 × price (+ tax) due on `due`, issued 30 days earlier at most."""
    issue = min(due, TODAY)
    with tenant_context(org):
        return issued(org, customer, lines=(("Consulting", "2", price, tax),), issue_date=issue, due_date=due)


def run(now: datetime, org=None, enqueue=None):
    """One scan and one delivery round at `now`, as the worker would do them."""
    result = scan(now=now, org_ids=[org.pk] if org else None, enqueue=enqueue or (lambda org_id, n: None))
    for o in result.orgs:
        deliver(o.organization_id, now=now)
    return result


def sent_to(invoice_number: str):
    return [m for m in mail.outbox if invoice_number in m.subject or invoice_number in m.body]


def money(value: str) -> Decimal:
    return Decimal(value)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def killed_after_the_servers_accept(module, org, now) -> None:
    """One delivery run that dies right after the mail server accepted (its `_mark_sent` never runs)."""

    real_mark_sent = module._mark_sent

    def die(*args):
        raise SystemExit("killed after the server's 250")

    module._mark_sent = die
    try:
        with pytest.raises(SystemExit):
            deliver(org.pk, now=now)
    finally:
        module._mark_sent = real_mark_sent


def refused(run) -> None:
    """`run` is refused by a database guard (a trigger raising "refused"), in its own savepoint."""

    with pytest.raises(DatabaseError, match="refused"), transaction.atomic():
        run()


def guard_state(email_id) -> str:
    """The outbox row's generated `guard_state` (what its frozen guard reads)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT guard_state FROM invoicing_emaildelivery WHERE id = %s", [email_id])
        return cursor.fetchone()[0]
