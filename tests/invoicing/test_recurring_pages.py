"""The recurring schedule pages: create with a preview, bad input, make recurring from an invoice,
pause/resume and "bill what is due now"."""

from datetime import date

import pytest
from django.utils import timezone

from invoicing.models import Invoice
from invoicing.models_recurring import RecurringSchedule
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db


def schedule_post(acme, **changes):
    data = {"do": "save", "customer": str(acme.customer.pk), "name": "Monthly support", "frequency": "monthly",
            "interval": "1", "day_of_month": "31", "start_date": "2026-04-01", "end_date": "", "max_count": "",
            "action": "issue", "payment_terms_days": "14", "reference": "", "notes": "",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "500", "lines-0-description": "Support for {month}", "lines-0-quantity": "1",
            "lines-0-unit": "", "lines-0-unit_price": "250", "lines-0-discount_percent": "0", "lines-0-tax_rate": ""}
    data.update(changes)
    return data


def test_preview_shows_the_next_twelve_runs_and_saves_nothing(acme):
    response = acme.client(acme.finance).post(acme.url("schedule_create"), schedule_post(acme, do="preview"))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="preview-row"') == 12
    assert "30 Apr 2026" in page and "31 May 2026" in page  # the 31st: 30 April, then 31 May
    assert "250.00 EUR" in page
    with acme.ctx():
        assert not RecurringSchedule.objects.exists()


def test_saving_leads_to_the_schedule_page_that_says_how_the_31st_is_billed(acme):
    client = acme.client(acme.finance)
    response = client.post(acme.url("schedule_create"), schedule_post(acme))
    assert response.status_code == 302
    with acme.ctx():
        schedule = RecurringSchedule.objects.get()
        assert (schedule.day_of_month, schedule.lines.get().description) == (31, "Support for {month}")
    page = client.get(response.url).content.decode()
    assert "in a month without that day, on its last day" in page
    assert page.count('class="preview-row"') == 12


@pytest.mark.parametrize("changes, message", [
    ({"end_date": "2026-03-01"}, "The end date is before the start date."),
    ({"lines-0-description": "", "lines-0-quantity": "", "lines-0-unit_price": ""}, "Add at least one line."),
    ({"interval": "0"}, "Ensure this value is greater than or equal to 1."),
    ({"day_of_month": "32"}, "Select a valid choice."),
    ({"start_date": "1990-01-01"}, "Start within the last ten years"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_saved(acme, changes, message):
    response = acme.client(acme.finance).post(acme.url("schedule_create"), schedule_post(acme, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    with acme.ctx():
        assert not RecurringSchedule.objects.exists()


def test_make_recurring_from_an_invoice_copies_its_lines(acme):
    with acme.ctx():
        invoice = issued(acme.org, acme.customer, [("Retainer", "1", "900.00", "20")])
    page = acme.client(acme.finance).get(acme.url("schedule_create") + f"?from_invoice={invoice.pk}").content.decode()
    assert 'value="Retainer"' in page and 'value="900"' in page
    assert "Bluebird Bakery monthly" in page


def test_bill_now_bills_what_is_due_once_and_pause_stops_it(acme):
    client = acme.client(acme.finance)
    today = timezone.localdate()
    start = date(today.year, today.month, 1)
    client.post(acme.url("schedule_create"), schedule_post(acme, day_of_month="1", start_date=start.isoformat()))
    with acme.ctx():
        schedule = RecurringSchedule.objects.get()
    client.post(acme.url("schedule_run", pk=schedule.pk))
    client.post(acme.url("schedule_run", pk=schedule.pk))
    with acme.ctx():
        assert Invoice.objects.filter(status="issued").count() == 1
    client.post(acme.url("schedule_pause", pk=schedule.pk), {"pause": "1"})
    page = client.get(acme.url("schedule_detail", pk=schedule.pk)).content.decode()
    assert "Paused: nothing is billed" in page and "Resume" in page
