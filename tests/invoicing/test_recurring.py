"""Recurring invoices: the run bills each due period exactly once (also with two schedulers at
once), catches up after an outage, respects pauses, the organization's today and each action,
and fills the period placeholders. A simulated three-year calendar puts it all together."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from invoicing.models import EmailDelivery, Invoice, InvoiceStatus, TaxRate
from invoicing.models_recurring import Frequency, RecurringRun, RecurringSchedule, RunAction, RunStatus
from invoicing.recurring import RecurringError, preview, run_due, run_schedule, save_schedule, set_paused
from ledger_site.tenancy import tenant_context
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org

LINES = [("Support plan for {month}", "1", "100.00", "20"),
         ("Hosting {period_start} – {period_end}", "2", "12.50", None)]


def make_schedule(org, customer, lines=LINES, **fields):
    rows = []
    for description, qty, price, tax in lines:
        rate = None
        if tax is not None:
            rate, _ = TaxRate.objects.get_or_create(organization=org, percent=Decimal(tax),
                                                    defaults={"name": f"Tax {tax}%"})
        rows.append({"description": description, "quantity": Decimal(qty), "unit_price": Decimal(price),
                     "tax_rate": rate, "unit": ""})
    values = {"customer": customer, "name": "Monthly support", "frequency": Frequency.MONTHLY, "interval": 1,
              "day_of_month": 1, "start_date": date(2026, 1, 1), "end_date": None, "max_count": None,
              "action": RunAction.ISSUE, "payment_terms_days": 14, "reference": "", "notes": ""}
    values.update(fields)
    return save_schedule(org, None, values, rows)


@pytest.fixture
def biller(db):
    org, owner = make_org(name="Retainer Ltd")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Harbour Hotel", code="HH", billing_emails="ap@harbour.test")
    return org, owner, customer


def issued_numbers(org):
    return list(Invoice.objects.filter(organization=org, status=InvoiceStatus.ISSUED)
                .order_by("issue_date", "pk").values_list("number", flat=True))


def test_each_due_period_is_billed_once_and_a_second_run_bills_nothing(biller):
    org, owner, customer = biller
    with tenant_context(org, owner):
        schedule = make_schedule(org, customer)
    first = run_due(today=date(2026, 3, 15), org_ids=[org.pk])
    assert [r.period_date for r in first.runs] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert run_due(today=date(2026, 3, 15), org_ids=[org.pk]).runs == []
    with tenant_context(org, owner):
        runs = list(schedule.runs.order_by("period_date"))
        assert [r.status for r in runs] == [RunStatus.ISSUED] * 3
        invoice = runs[0].invoice
        assert (invoice.issue_date, invoice.due_date, invoice.total) == (date(2026, 1, 1), date(2026, 1, 15),
                                                                      Decimal("145.00"))
        assert [li.description for li in invoice.lines.all()] == ["Support plan for January 2026",
                                                                 "Hosting 1 Jan 2026 – 31 Jan 2026"]
        assert issued_numbers(org) == ["INV-2026-00001", "INV-2026-00002", "INV-2026-00003"]
        assert "Created by the schedule “Monthly support”" in invoice.events.get(kind="recurring").message


def test_missed_days_are_caught_up_each_period_dated_on_its_own_day(biller):
    org, owner, customer = biller
    with tenant_context(org, owner):
        schedule = make_schedule(org, customer, frequency=Frequency.WEEKLY, start_date=date(2026, 2, 2))
    run_due(today=date(2026, 2, 2), org_ids=[org.pk])
    # the worker is down for ten days; the next run bills both missed weeks
    result = run_due(today=date(2026, 2, 19), org_ids=[org.pk])
    assert [(r.period_date, r.caught_up) for r in result.runs] == [(date(2026, 2, 9), True),
                                                                   (date(2026, 2, 16), True)]
    with tenant_context(org, owner):
        assert [r.invoice.issue_date for r in schedule.runs.order_by("period_date")] == [
            date(2026, 2, 2), date(2026, 2, 9), date(2026, 2, 16)]


def test_a_run_row_is_unique_per_schedule_and_period(biller):
    org, owner, customer = biller
    with tenant_context(org, owner):
        schedule = make_schedule(org, customer)
        RecurringRun.objects.create(organization=org, schedule=schedule, period_date=date(2026, 1, 1),
                                    period_end=date(2026, 1, 31), status=RunStatus.SKIPPED)
        with pytest.raises(IntegrityError), transaction.atomic():
            RecurringRun.objects.create(organization=org, schedule=schedule, period_date=date(2026, 1, 1),
                                        period_end=date(2026, 1, 31), status=RunStatus.SKIPPED)


def test_pausing_skips_the_periods_that_fall_due_meanwhile_and_says_so(biller):
    org, owner, customer = biller
    with tenant_context(org, owner):
        schedule = make_schedule(org, customer)
    run_due(today=date(2026, 1, 10), org_ids=[org.pk])
    with tenant_context(org, owner):
        set_paused(schedule, True)
    assert run_due(today=date(2026, 3, 10), org_ids=[org.pk]).runs == []
    with tenant_context(org, owner):
        set_paused(schedule, False, today=date(2026, 3, 10))
    result = run_due(today=date(2026, 4, 1), org_ids=[org.pk])
    assert [r.period_date for r in result.runs] == [date(2026, 4, 1)]
    with tenant_context(org, owner):
        assert list(schedule.runs.order_by("period_date").values_list("period_date", "status", "message")) == [
            (date(2026, 1, 1), "issued", ""), (date(2026, 2, 1), "skipped", "Paused on this date."),
            (date(2026, 3, 1), "skipped", "Paused on this date."), (date(2026, 4, 1), "issued", "")]
        assert issued_numbers(org) == ["INV-2026-00001", "INV-2026-00002"]  # no gap for skipped periods


def test_the_actions_draft_and_issue_and_email(biller):
    org, owner, customer = biller
    with tenant_context(org, owner):
        drafts = make_schedule(org, customer, name="Drafts", action=RunAction.DRAFT)
        sends = make_schedule(org, customer, name="Sends", action=RunAction.SEND)
        quiet = CustomerFactory(organization=org, name="No Mail", code="NM", billing_emails="")
        no_mail = make_schedule(org, quiet, name="No mail", action=RunAction.SEND)
    run_due(today=date(2026, 1, 1), org_ids=[org.pk])
    with tenant_context(org, owner):
        assert drafts.runs.get().status == RunStatus.CREATED and drafts.runs.get().invoice.is_draft
        sent = sends.runs.get()
        assert sent.status == RunStatus.SENT
        delivery = EmailDelivery.objects.get(invoice=sent.invoice)
        assert delivery.recipients == ["ap@harbour.test"] and sent.invoice.number in delivery.subject
        run = no_mail.runs.get()
        assert (run.status, run.message) == (RunStatus.ISSUED, "Not e-mailed: the customer has no billing e-mail "
                                                               "address.")


def test_an_archived_customer_is_skipped_with_the_reason(biller):
    org, owner, customer = biller
    with tenant_context(org, owner):
        schedule = make_schedule(org, customer)
        customer.archived_at = datetime(2026, 1, 5, tzinfo=UTC)
        customer.save(update_fields=["archived_at"])
    run_due(today=date(2026, 1, 5), org_ids=[org.pk])
    with tenant_context(org, owner):
        assert list(schedule.runs.values_list("status", "message")) == [("skipped", "The customer is archived.")]
        assert not Invoice.objects.exists()


def test_the_organizations_today_decides_what_is_due(biller):
    org, owner, customer = biller
    from accounts.models import Organization

    with tenant_context(org, owner):
        make_schedule(org, customer, start_date=date(2026, 4, 1))
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # already 1 April in Kiritimati (UTC+14)
    assert run_due(now=now, org_ids=[org.pk]).runs == []  # the organization's zone is UTC
    with tenant_context(org, owner):
        Organization.objects.filter(pk=org.pk).update(timezone="Pacific/Kiritimati")
    assert [r.period_date for r in run_due(now=now, org_ids=[org.pk]).runs] == [date(2026, 4, 1)]


@pytest.mark.parametrize("change, message", [
    ({"end_date": date(2025, 12, 31)}, "The end date is before the start date."),
])
def test_bad_schedules_are_refused_and_nothing_is_saved(biller, change, message):
    org, owner, customer = biller
    with tenant_context(org, owner):
        with pytest.raises(RecurringError, match=message):
            make_schedule(org, customer, **change)
        with pytest.raises(RecurringError, match="Add at least one line"):
            make_schedule(org, customer, lines=[])
        assert not RecurringSchedule.objects.exists()


def test_preview_lists_the_next_runs_with_their_totals(biller):
    org, owner, customer = biller
    with tenant_context(org, owner):
        schedule = make_schedule(org, customer, day_of_month=31, start_date=date(2026, 1, 1), max_count=3)
        from invoicing.recurring import line_dicts

        runs = preview(schedule, line_dicts(schedule), date(2026, 1, 1))
    assert [(r.date, r.total) for r in runs] == [(date(2026, 1, 31), Decimal("145.00")),
                                                 (date(2026, 2, 28), Decimal("145.00")),
                                                 (date(2026, 3, 31), Decimal("145.00"))]


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_bill_each_period_once():
    org, owner = make_org(name="Twin Workers")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        schedules = [make_schedule(org, customer, name=f"S{n}", frequency=Frequency.WEEKLY,
                                   start_date=date(2026, 1, 5)) for n in range(3)]
    results = run_at_once(2, lambda i: run_due(today=date(2026, 3, 2), org_ids=[org.pk]))
    made = [r for result in results for r in result.runs]
    assert len(made) == 3 * 9  # 5 Jan … 2 Mar: nine Mondays per schedule, each billed by one worker only
    with tenant_context(org, owner):
        for schedule in schedules:
            assert schedule.runs.count() == 9
        numbers = sorted(int(n.rsplit("-", 1)[1]) for n in issued_numbers(org))
        assert numbers == list(range(1, 28))  # gapless


@pytest.mark.django_db(transaction=True)
def test_three_simulated_years_with_month_ends_leap_days_a_pause_and_an_outage():
    """Daily runs from 31 Jan 2024 to 30 Nov 2026 for a monthly schedule on the 31st, a yearly one on
    29 February and a fortnightly one; the worker is down 5–14 March 2025; the monthly one is paused
    from 15 June to 2 August 2025; two workers run on the first of every month."""
    org, owner = make_org(name="Calendar Co")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        monthly = make_schedule(org, customer, name="Month end", day_of_month=31, start_date=date(2024, 1, 31))
        yearly = make_schedule(org, customer, name="Leap", frequency=Frequency.YEARLY, day_of_month=29,
                               start_date=date(2024, 2, 29))
        fortnightly = make_schedule(org, customer, name="Fortnight", frequency=Frequency.WEEKLY, interval=2,
                                    start_date=date(2024, 2, 1), end_date=date(2026, 6, 30))
    day, last = date(2024, 1, 31), date(2026, 11, 30)
    outage = (date(2025, 3, 5), date(2025, 3, 14))
    while day <= last:
        if day == date(2025, 6, 15):
            with tenant_context(org, owner):
                set_paused(monthly, True)
        if day == date(2025, 8, 2):
            with tenant_context(org, owner):
                set_paused(monthly, False, today=day)
        if not outage[0] <= day <= outage[1]:
            if day.day == 1:
                run_at_once(2, lambda i, d=day: run_schedule_all(org, d))
            else:
                run_due(today=day, org_ids=[org.pk])
        day += timedelta(days=1)
    with tenant_context(org, owner):
        months = list(monthly.runs.order_by("period_date").values_list("period_date", "status"))
        assert len(months) == 35 and len({d for d, _s in months}) == 35
        assert (date(2024, 2, 29), "issued") in months and (date(2024, 4, 30), "issued") in months
        assert (date(2025, 6, 30), "skipped") in months and (date(2025, 7, 31), "skipped") in months
        assert (date(2025, 8, 31), "issued") in months
        assert list(yearly.runs.order_by("period_date").values_list("period_date", flat=True)) == [
            date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28)]
        fortnights = list(fortnightly.runs.order_by("period_date").values_list("period_date", "caught_up"))
        assert fortnights[-1][0] <= date(2026, 6, 30)
        assert all((b[0] - a[0]).days == 14 for a, b in zip(fortnights, fortnights[1:], strict=False))
        # the outage: the fortnight due on 13 March 2025 was billed on the 15th, flagged as caught up
        assert (date(2025, 3, 13), True) in fortnights
        assert sum(1 for _d, late in fortnights if late) == 1
        for run in RecurringRun.objects.filter(status="issued").select_related("invoice"):
            assert run.invoice.issue_date == run.period_date
        for year in (2024, 2025, 2026):
            numbers = sorted(int(n.rsplit("-", 1)[1]) for n in issued_numbers(org) if f"-{year}-" in n)
            assert numbers == list(range(1, len(numbers) + 1))  # gapless per year


def run_schedule_all(org, day):
    with tenant_context(org):
        return [run_schedule(pk, day) for pk in RecurringSchedule.objects.values_list("pk", flat=True)]
