""""Today" is the organization's date, everywhere: invoice properties, the invoice list's filter,
the reminder scan. Pinned at the instants where the date of an organization at UTC+13 or UTC−10
differs from the server's (TIME_ZONE = UTC)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from accounts.models_org import today_in
from invoicing.models import Invoice
from invoicing.services import set_dispute
from ledger_site.tenancy import tenant_context
from reminders.scheduler import local_today
from reminders.setup import ensure_setup
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db

DAY = date.today()  # the due date of the invoices below
TONGA, HONOLULU = "Pacific/Tongatapu", "Pacific/Honolulu"  # UTC+13 and UTC−10, no daylight saving
# 11:30 UTC on DAY is 00:30 on DAY+1 in Tonga; 06:00 UTC on DAY+1 is 20:00 on DAY in Honolulu.
TONGA_AFTER_MIDNIGHT = datetime.combine(DAY, time(11, 30), tzinfo=UTC)
HONOLULU_EVENING = datetime.combine(DAY + timedelta(days=1), time(6, 0), tzinfo=UTC)


def _org_with_invoice_due_today(zone, monkeypatch):
    # Built at 00:30 UTC on DAY, when DAY is still "today" in Tonga and Honolulu alike (at the real
    # time of day, after 11:00 UTC Tonga is already on the next day and the hold "until DAY" would
    # be refused as in the past).
    _at(monkeypatch, datetime.combine(DAY, time(0, 30), tzinfo=UTC))
    org, owner = make_org()
    with tenant_context(org):
        Organization.objects.filter(pk=org.pk).update(timezone=zone)
    org.refresh_from_db()
    with tenant_context(org):
        customer = CustomerFactory(organization=org)
        invoice = issued(org, customer, issue_date=DAY - timedelta(days=10), due_date=DAY)
        set_dispute(invoice, "wrong quantity", until=DAY)
    return org, owner, invoice


def _at(monkeypatch, instant):
    monkeypatch.setattr(timezone, "now", lambda: instant)


def _fresh(org, invoice_pk):
    with tenant_context(org):  # with its organization: outside a context it could not be loaded
        return Invoice.objects.select_related("organization").get(pk=invoice_pk)


def test_an_organization_at_utc_plus_13_is_already_on_the_next_day(monkeypatch):
    org, owner, invoice = _org_with_invoice_due_today(TONGA, monkeypatch)
    _at(monkeypatch, TONGA_AFTER_MIDNIGHT)
    assert timezone.localdate(TONGA_AFTER_MIDNIGHT) == DAY  # the server still says DAY
    assert org.today() == today_in(org) == DAY + timedelta(days=1)
    invoice = _fresh(org, invoice.pk)
    assert invoice.today == DAY + timedelta(days=1)
    assert invoice.is_overdue and invoice.days_overdue == 1 and invoice.display_status == "overdue"
    assert not invoice.is_disputed  # disputed until DAY: over in Tonga
    with tenant_context(org):
        assert local_today(TONGA_AFTER_MIDNIGHT, ensure_setup(org)) == invoice.today
        assert list(Invoice.objects.filter(organization=org).overdue(org.today())) == [invoice]
    _assert_list_filter(owner, org, "overdue", [invoice.number])


def test_an_organization_at_utc_minus_10_is_still_on_the_previous_day(monkeypatch):
    org, owner, invoice = _org_with_invoice_due_today(HONOLULU, monkeypatch)
    _at(monkeypatch, HONOLULU_EVENING)
    assert timezone.localdate(HONOLULU_EVENING) == DAY + timedelta(days=1)  # the server's next day
    assert org.today() == today_in(org) == DAY
    invoice = _fresh(org, invoice.pk)
    assert not invoice.is_overdue and invoice.days_overdue == 0 and invoice.display_status == "open"
    assert invoice.is_disputed  # disputed until DAY: still DAY in Honolulu
    with tenant_context(org):
        assert local_today(HONOLULU_EVENING, ensure_setup(org)) == invoice.today == DAY
        assert list(Invoice.objects.filter(organization=org).overdue(org.today())) == []
    _assert_list_filter(owner, org, "overdue", [])


def test_the_request_organization_is_the_default_today(monkeypatch):
    """Code that says only `today_in()` gets the date of the organization it acts for."""
    org, _, _ = _org_with_invoice_due_today(TONGA, monkeypatch)
    _at(monkeypatch, TONGA_AFTER_MIDNIGHT)
    assert today_in() == DAY  # no organization: the server's date
    with tenant_context(org):
        assert today_in() == DAY + timedelta(days=1)


def _assert_list_filter(user, org, status, numbers):
    client = Client()
    client.force_login(user)
    response = client.get(f"/o/{org.slug}/invoices/", {"status": status})
    assert response.status_code == 200
    assert [i.number for i in response.context["page"].object_list] == numbers


def test_the_reminder_settings_page_sets_the_organizations_time_zone():
    org, owner = make_org()
    client = Client()
    client.force_login(owner)
    page = client.get(f"/o/{org.slug}/reminders/settings/")
    assert page.status_code == 200 and page.context["form"]["timezone"].value() == "UTC"
    response = client.post(f"/o/{org.slug}/reminders/settings/", {"timezone": TONGA, "send_hour": "9"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.timezone == TONGA
    bad = client.post(f"/o/{org.slug}/reminders/settings/", {"timezone": "Mars/Olympus", "send_hour": "9"})
    assert bad.status_code == 200 and "is not a time zone name" in bad.content.decode()
    org.refresh_from_db()
    assert org.timezone == TONGA  # bad input: nothing changed
