""""Today" is the organization's date, everywhere: invoice properties, the invoice list's filter,
the reminder scan. Pinned at the instants where the date of an organization at UTC+13 or UTC−10
differs from the server's (TIME_ZONE = UTC)."""

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.ledger import MAX_DAYS_AHEAD
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
SET_UP = datetime.combine(DAY, time(9, 0), tzinfo=UTC)


def _org_with_invoice_due_today(zone, monkeypatch):
    # Made at 09:00 UTC on DAY, when it is DAY in Tonga too (22:00) and DAY − 1 in Honolulu: a dispute
    # "until DAY" is still allowed in both, whatever time of day the test runs.
    _at(monkeypatch, SET_UP)
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


# --- quotes: expiry, the editor's date window, conversion ------------------------------------------

def _sent_quote_valid_until_today(zone, monkeypatch):
    from invoicing.quotes import save_quote, send_quote

    _at(monkeypatch, SET_UP)  # as above: valid until DAY is still valid in both zones
    org, owner = make_org()
    with tenant_context(org):  # organizations are behind row-level security (issue 22)
        Organization.objects.filter(pk=org.pk).update(timezone=zone)
    org.refresh_from_db()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, currency="EUR")
        quote = save_quote(org, None, {"customer": customer, "issue_date": DAY - timedelta(days=5),
                                       "valid_until": DAY, "reference": "", "notes": ""},
                           [{"description": "Survey", "quantity": Decimal(1), "unit_price": Decimal("90.00"),
                             "tax_rate": None, "unit": ""}])
        quote = send_quote(quote)
    return org, owner, quote


def _quote_pages(owner, org, quote):
    """(expired on the list, expired on the staff page, expired on the customer's page)."""
    from invoicing.quotes import link_path

    client = Client()
    client.force_login(owner)
    listed = client.get(f"/o/{org.slug}/invoices/quotes/")
    [row] = [q for q in listed.context["page"].object_list if q.pk == quote.pk]
    detail = client.get(f"/o/{org.slug}/invoices/quotes/{quote.pk}/")
    public = Client().get(link_path(quote))
    assert listed.status_code == detail.status_code == public.status_code == 200
    return row.expired, detail.context["expired"], public.context["expired"]


def test_a_quote_valid_until_today_has_expired_in_tonga_after_its_midnight(monkeypatch):
    from invoicing.quotes import QuoteError, decide

    org, owner, quote = _sent_quote_valid_until_today(TONGA, monkeypatch)
    _at(monkeypatch, TONGA_AFTER_MIDNIGHT)
    assert not quote.is_expired_on(timezone.localdate())  # by the server's date it would still be valid
    assert _quote_pages(owner, org, quote) == (True, True, True)
    with tenant_context(org, owner), pytest.raises(QuoteError, match="expired"):
        decide(quote, True, "192.0.2.1")


def test_a_quote_valid_until_today_is_still_valid_in_honolulu_in_the_evening(monkeypatch):
    from invoicing.quotes import convert_to_invoice, decide

    org, owner, quote = _sent_quote_valid_until_today(HONOLULU, monkeypatch)
    _at(monkeypatch, HONOLULU_EVENING)
    assert quote.is_expired_on(timezone.localdate())  # by the server's date it would have expired
    assert _quote_pages(owner, org, quote) == (False, False, False)
    with tenant_context(org, owner):
        quote, changed = decide(quote, True, "192.0.2.1")
        invoice, _ = convert_to_invoice(quote)
    assert changed and invoice.issue_date == DAY  # the organization's day, not the server's DAY + 1


def test_a_quote_converted_in_tonga_after_midnight_is_an_invoice_of_tongas_day(monkeypatch):
    from invoicing.quotes import convert_to_invoice, decide

    org, owner, quote = _sent_quote_valid_until_today(TONGA, monkeypatch)
    with tenant_context(org, owner):
        quote, _ = decide(quote, True, "192.0.2.1", today=DAY)
    _at(monkeypatch, TONGA_AFTER_MIDNIGHT)
    with tenant_context(org, owner):
        invoice, _ = convert_to_invoice(quote)
    assert invoice.issue_date == DAY + timedelta(days=1)


@pytest.mark.parametrize("zone, instant", [(TONGA, TONGA_AFTER_MIDNIGHT), (HONOLULU, HONOLULU_EVENING)])
def test_the_quote_editor_takes_dates_up_to_a_year_after_the_organizations_today(monkeypatch, zone, instant):
    from invoicing.forms_quotes import QuoteForm

    org, owner, quote = _sent_quote_valid_until_today(zone, monkeypatch)
    _at(monkeypatch, instant)
    last = org.today() + timedelta(days=MAX_DAYS_AHEAD)

    def errors(day):
        with tenant_context(org, owner):
            form = QuoteForm({"customer": quote.customer_id, "issue_date": day.isoformat(),
                              "valid_until": (day + timedelta(days=30)).isoformat()}, org=org)
            form.is_valid()
        return form.errors.get("issue_date")

    assert errors(last) is None
    assert "at most a year ahead" in errors(last + timedelta(days=1))[0]


# --- the one home: no other code asks the server for its date ---------------------------------------

SERVER_DATE = re.compile(r"date\.today\(\)|timezone\.localdate\(|\.now\(\)\.date\(\)|datetime\.today\(\)")
APPS = ("accounts", "invoicing", "payments", "reminders", "reports", "ledger_site")
HOME = Path("accounts/models_org.py")  # today_in's fallback outside any organization


def test_no_app_code_asks_the_server_for_todays_date():
    root = Path(__file__).resolve().parent.parent
    found = [f"{path.relative_to(root)}:{n}" for app in APPS for path in sorted((root / app).rglob("*.py"))
             if "migrations" not in path.parts and path.relative_to(root) != HOME
             for n, line in enumerate(path.read_text().splitlines(), start=1) if SERVER_DATE.search(line)]
    assert found == [], "use Organization.today() / today_in(org), the one home of today"


@pytest.mark.parametrize(("zone", "shown", "server"), [
    (TONGA, "00:30", "11:30"),  # 11:30 UTC on DAY: 00:30 on DAY + 1 in Tonga
    (HONOLULU, "01:30", "11:30"),  # 01:30 on DAY in Honolulu
])
def test_times_of_day_on_staff_pages_are_on_the_organizations_clock(zone, shown, server):
    from reminders.models import OutboxStatus, ReminderMessage

    org, owner = make_org()
    with tenant_context(org):
        Organization.objects.filter(pk=org.pk).update(timezone=zone)
        customer = CustomerFactory(organization=org)
        invoice = issued(org, customer, issue_date=DAY - timedelta(days=10), due_date=DAY)
        ReminderMessage.objects.create(organization=org, invoice=invoice, customer=customer, offset_days=0,
                                       due_at=TONGA_AFTER_MIDNIGHT, status=OutboxStatus.FAILED)
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("reminder_log", kwargs={"org_slug": org.slug}))
    assert page.status_code == 200
    due = re.search(r"<td>([^<]*\d\d:\d\d)", page.content.decode()).group(1)
    assert due.endswith(shown) and not due.endswith(server)
    assert due.startswith(str(TONGA_AFTER_MIDNIGHT.astimezone(ZoneInfo(zone)).day) + " "), "its day, too"
    # after the request the server's zone is back (no organization's zone leaks into the next one)
    assert timezone.get_current_timezone_name() == "UTC"
