"""invoice.overdue: announced once per invoice, by the schedule, on the organization's own date, only
for invoices that fell due recently, still open, and only where an endpoint listens."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from ledger_site.tenancy import tenant_context
from reminders import webhooks
from reminders.models import OverdueAnnouncement, WebhookDelivery
from reminders.overdue_events import CATCH_UP_DAYS, announce
from reminders.tasks import announce_overdue
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay
from tests.reminders.webhook_helpers import Receiver, verify_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def dev_mode(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    return settings


def listen(org, url="http://127.0.0.1:9/hooks", events=("invoice.overdue",)):
    with tenant_context(org):
        return webhooks.create_endpoint(org, url, list(events))


def due_on(org, customer, due):
    return issued(org, customer, issue_date=due - timedelta(days=30), due_date=due)


def overdue_events(org):
    with tenant_context(org):
        return [json.loads(d.body)["data"] for d in
                WebhookDelivery.objects.filter(event_type="invoice.overdue").order_by("pk")]


def test_each_newly_overdue_invoice_is_announced_once_and_a_second_run_adds_nothing(dev_mode):
    org, _ = make_org()
    listen(org)
    with tenant_context(org):
        customer = CustomerFactory(organization=org)
        today = org.today()
        yesterday = due_on(org, customer, today - timedelta(days=1))
        due_today = due_on(org, customer, today)
        two_days = due_on(org, customer, today - timedelta(days=2))
    with tenant_context(org):
        assert announce(org) == 2
        assert announce(org) == 0, "the marker keeps the second run from announcing again"
    assert announce_overdue() == {}, "the scheduled task finds nothing new either"
    events = overdue_events(org)
    assert sorted(e["id"] for e in events) == sorted([yesterday.pk, two_days.pk])
    assert {e["id"]: e["days_overdue"] for e in events} == {yesterday.pk: 1, two_days.pk: 2}
    assert due_today.pk not in {e["id"] for e in events}, "due today is not overdue yet"


def test_a_settled_draft_or_void_invoice_and_old_overdue_history_are_not_announced(dev_mode):
    org, _ = make_org()
    listen(org)
    with tenant_context(org):
        customer = CustomerFactory(organization=org)
        today = org.today()
        settled = due_on(org, customer, today - timedelta(days=3))
        pay(org, customer, settled.total)
        old = due_on(org, customer, today - timedelta(days=CATCH_UP_DAYS + 1))
        edge = due_on(org, customer, today - timedelta(days=CATCH_UP_DAYS))
        assert announce(org) == 1
    assert [e["id"] for e in overdue_events(org)] == [edge.pk]
    with tenant_context(org):
        assert not OverdueAnnouncement.objects.filter(invoice__in=[settled, old]).exists()


def test_without_a_listening_endpoint_nothing_is_marked_so_a_later_subscriber_still_hears_recent_ones(dev_mode):
    org, _ = make_org()
    listen(org, events=("invoice.issued",))
    with tenant_context(org):
        customer = CustomerFactory(organization=org)
        late = due_on(org, customer, org.today() - timedelta(days=2))
        assert announce(org) == 0
        assert not OverdueAnnouncement.objects.exists()
    listen(org, url="http://127.0.0.1:9/later")
    with tenant_context(org):
        assert announce(org) == 1
    assert [e["id"] for e in overdue_events(org)] == [late.pk]


@pytest.mark.parametrize("zone, expect", [("Pacific/Kiritimati", True), ("Pacific/Honolulu", False)])
def test_overdue_is_decided_on_the_organizations_own_date(dev_mode, zone, expect):
    # 2026-12-07 11:30 UTC is already 8 December at UTC+14 and still 7 December at UTC-10.
    now = datetime(2026, 12, 7, 11, 30, tzinfo=UTC)
    org, _ = make_org(timezone=zone)
    listen(org)
    with tenant_context(org):
        customer = CustomerFactory(organization=org)
        invoice = due_on(org, customer, date(2026, 12, 7))
        assert announce(org, now=now) == (1 if expect else 0)
        assert announce(org, now=now + timedelta(days=1)) == (0 if expect else 1)
    assert [e["id"] for e in overdue_events(org)] == [invoice.pk]


def test_one_organizations_run_never_announces_anothers_invoices(dev_mode):
    org, _ = make_org()
    other, _ = make_org()
    listen(org)
    listen(other)
    with tenant_context(other):
        theirs = due_on(other, CustomerFactory(organization=other), other.today() - timedelta(days=1))
    with tenant_context(org):
        assert announce(org) == 0
    assert announce_overdue() == {other.pk: 1}
    assert overdue_events(org) == [] and [e["id"] for e in overdue_events(other)] == [theirs.pk]


def test_the_database_refuses_a_second_marker_for_one_invoice(dev_mode):
    # The guard behind "two workers at once cannot announce twice": the unique key on the invoice.
    org, _ = make_org()
    listen(org)
    with tenant_context(org):
        invoice = due_on(org, CustomerFactory(organization=org), org.today() - timedelta(days=1))
        assert announce(org) == 1
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO reminders_overdueannouncement (organization_id, invoice_id, due_date,"
                           " announced_at) VALUES (%s, %s, %s, now())", [org.pk, invoice.pk, invoice.due_date])


def test_the_announcement_reaches_a_receiver_signed(dev_mode):
    org, _ = make_org()
    with Receiver() as receiver:
        endpoint = listen(org, url=receiver.url)
        with tenant_context(org):
            invoice = due_on(org, CustomerFactory(organization=org), org.today() - timedelta(days=1))
            announce(org)
            report = webhooks.deliver(org.pk)
        got = receiver.received()
    assert report.delivered == 1 and len(got) == 1
    assert verify_signature(endpoint.secret, got[0]["headers"]["Ledgerline-Signature"], got[0]["body"])
    data = json.loads(got[0]["body"])["data"]
    assert data["id"] == invoice.pk and data["number"] == invoice.number and data["days_overdue"] == 1
    assert data["amount_due"] == str(invoice.amount_due)
