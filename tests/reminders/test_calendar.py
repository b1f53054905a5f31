"""The schedule over simulated calendars: every point fires exactly once, holds and payments stop it."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from ledger_site.tenancy import tenant_context
from reminders.models import OutboxStatus, ReminderMessage
from tests.reminders.helpers import TODAY, at, invoice_due, money, org_with_customer, run

pytestmark = pytest.mark.django_db

DEFAULT_POINTS = [-3, 0, 7, 14, 21, 28, 35, 42, 49]  # the default policy: 5 steps, then 4 repeats every 7 days


def test_it_sends_each_step_exactly_once_over_a_simulated_calendar_with_scans_every_few_hours():
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=5)
    invoice = invoice_due(org, customer, due)
    sent_on = {}
    day = due - timedelta(days=6)
    while day <= due + timedelta(days=70):
        for hour in (0, 7, 8, 13, 23):
            before = len(mail.outbox)
            run(at(day, hour), org)
            for message in mail.outbox[before:]:
                sent_on.setdefault(day, []).append((hour, message.subject))
        day += timedelta(days=1)
    assert sorted((d - due).days for d in sent_on) == DEFAULT_POINTS
    assert all(len(v) == 1 for v in sent_on.values()), sent_on
    assert all(v[0][0] == 8 for v in sent_on.values()), "sent at the first scan from 08:00 local"
    with tenant_context(org):
        rows = ReminderMessage.objects.filter(invoice=invoice)
        assert sorted(rows.values_list("offset_days", flat=True)) == DEFAULT_POINTS
        assert set(rows.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert all(invoice.number in m.subject for m in mail.outbox)


def _sent_offsets(org, invoice):
    with tenant_context(org):
        return sorted(ReminderMessage.objects.filter(invoice=invoice, status=OutboxStatus.SENT)
                      .values_list("offset_days", flat=True))


def _simulate(org, due, first, last, hours=(9,)):
    day = due + timedelta(days=first)
    while day <= due + timedelta(days=last):
        for hour in hours:
            run(at(day, hour), org)
        day += timedelta(days=1)


def test_paid_voided_disputed_and_paused_invoices_get_nothing():
    from invoicing.services import set_dispute, void_invoice
    from reminders.models import ReminderSettings
    from tests.payments.helpers import pay

    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=4)
    paid, voided, disputed, normal = (invoice_due(org, customer, due) for _ in range(4))
    with tenant_context(org):
        pay(org, customer, paid.total, allocation={paid.pk: paid.total})
        void_invoice(voided, "issued by mistake")
        set_dispute(disputed, "wrong quantity")
    _simulate(org, due, -5, 25)
    assert _sent_offsets(org, normal) == [-3, 0, 7, 14, 21]
    for invoice in (paid, voided, disputed):
        assert _sent_offsets(org, invoice) == []
        assert not [m for m in mail.outbox if invoice.number in m.subject]

    other_org, _, other_customer = org_with_customer()
    paused_invoice = invoice_due(other_org, other_customer, due)
    with tenant_context(other_org):
        ReminderSettings.objects.filter(organization=other_org).update(paused=True)
    _simulate(other_org, due, -5, 25)
    assert _sent_offsets(other_org, paused_invoice) == []
    with tenant_context(other_org):
        assert not ReminderMessage.objects.exists()


def test_a_partial_payment_keeps_the_schedule_on_the_remaining_amount():
    from tests.payments.helpers import pay

    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=2)
    invoice = invoice_due(org, customer, due)  # 2 × 100.00 + 20% = 240.00
    _simulate(org, due, -4, 0)
    assert "240.00 EUR" in mail.outbox[-1].body
    with tenant_context(org):
        pay(org, customer, "90.00", allocation={invoice.pk: money("90.00")})
    _simulate(org, due, 1, 7)
    assert _sent_offsets(org, invoice) == [-3, 0, 7]
    last = mail.outbox[-1]
    assert "150.00 EUR" in last.body and "240.00" not in last.body
    with tenant_context(org):
        row = ReminderMessage.objects.get(invoice=invoice, offset_days=7)
        assert row.amount_due == money("150.000")


def test_catch_up_after_a_ten_day_outage_sends_only_the_latest_step_once():
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=1)
    invoice = invoice_due(org, customer, due)
    _simulate(org, due, -4, 5)  # -3 and 0 sent normally
    assert _sent_offsets(org, invoice) == [-3, 0]
    # The worker is down from day +6 to day +15: steps +7 and +14 fall due meanwhile.
    count = len(mail.outbox)
    for hour in (9, 10, 11):
        run(at(due + timedelta(days=16), hour), org)
    assert len(mail.outbox) == count + 1, "one message, not a burst"
    with tenant_context(org):
        rows = {r.offset_days: r for r in ReminderMessage.objects.filter(invoice=invoice)}
    assert rows[14].status == OutboxStatus.SENT
    assert rows[7].status == OutboxStatus.SKIPPED and "catch-up" in rows[7].result
    _simulate(org, due, 17, 22)
    assert _sent_offsets(org, invoice) == [-3, 0, 14, 21]


def test_a_promise_to_pay_holds_reminders_and_its_expiry_resumes_them_with_the_catch_up_rule():
    from reminders.holds import promise_to_pay

    org, owner, customer = org_with_customer()
    due = TODAY + timedelta(days=1)
    invoice = invoice_due(org, customer, due)
    _simulate(org, due, -4, 0)
    with tenant_context(org):
        promise_to_pay(invoice, due + timedelta(days=16), "Jane Roe", "after their quarter closes", actor=owner,
                       today=due)
    _simulate(org, due, 1, 16)
    assert _sent_offsets(org, invoice) == [-3, 0]
    _simulate(org, due, 17, 17)
    assert _sent_offsets(org, invoice) == [-3, 0, 14]
    with tenant_context(org):
        assert ReminderMessage.objects.get(invoice=invoice, offset_days=7).status == OutboxStatus.SKIPPED


def test_a_do_not_remind_customer_gets_nothing_until_the_flag_is_cleared():
    from reminders.models import CustomerReminderSettings

    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=1)
    invoice = invoice_due(org, customer, due)
    with tenant_context(org):
        flag = CustomerReminderSettings.objects.create(organization=org, customer=customer, do_not_remind=True)
    _simulate(org, due, -4, 10)
    assert _sent_offsets(org, invoice) == []
    with tenant_context(org):
        flag.do_not_remind = False
        flag.save()
    _simulate(org, due, 11, 12)
    assert _sent_offsets(org, invoice) == [7]


def test_a_hold_placed_after_the_scan_still_stops_the_message():
    from invoicing.services import set_dispute
    from reminders.outbox import deliver
    from reminders.scheduler import scan

    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoice = invoice_due(org, customer, due)
    scan(now=at(due), org_ids=[org.pk], enqueue=lambda *a: None)
    with tenant_context(org):
        set_dispute(invoice, "never received the goods")
    report = deliver(org.pk, now=at(due, 10))
    assert report.cancelled == 1 and mail.outbox == []
    with tenant_context(org):
        row = ReminderMessage.objects.get(invoice=invoice, offset_days=0)
        assert row.status == OutboxStatus.CANCELLED and "disputed" in row.result


def test_organizations_send_from_their_local_hour_in_their_own_time_zone():
    from reminders.models import ReminderSettings

    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoice = invoice_due(org, customer, due)
    with tenant_context(org):
        ReminderSettings.objects.filter(organization=org).update(send_hour=8)
        type(org).objects.filter(pk=org.pk).update(timezone="America/New_York")
    # On the due date at 11:00 UTC it is 06:00 or 07:00 in New York: too early for the day-0 step
    # (the day -3 step, due days ago, goes out: the first scan ever sends the latest step due).
    run(at(due, 11), org)
    assert _sent_offsets(org, invoice) == [-3]
    run(at(due, 13, 30), org)  # 08:30 or 09:30 local
    assert _sent_offsets(org, invoice) == [-3, 0]
    with tenant_context(org):
        row = ReminderMessage.objects.get(invoice=invoice, offset_days=0)
    assert row.due_at.astimezone(ZoneInfo("America/New_York")).hour == 8


def test_a_customer_without_an_e_mail_is_shown_as_cannot_send_and_fails_without_a_crash():
    from reminders.outbox import deliver
    from reminders.scheduler import scan, upcoming

    org, _, customer = org_with_customer(billing_emails="")
    due = TODAY + timedelta(days=2)
    invoice = invoice_due(org, customer, due)
    items, total = upcoming(org.pk, at(due - timedelta(days=4)), days=7)
    assert total == 2 and all(i.cannot_send for i in items)
    scan(now=at(due), org_ids=[org.pk], enqueue=lambda *a: None)
    report = deliver(org.pk, now=at(due))
    assert report.failed == 1 and mail.outbox == []
    with tenant_context(org):
        row = ReminderMessage.objects.get(invoice=invoice, offset_days=0)
        assert row.status == OutboxStatus.FAILED and "no billing e-mail" in row.result
    assert deliver(org.pk, now=at(due, 23)).failed == 0, "not retried: retrying cannot help"


def test_dry_run_prints_what_would_be_sent_and_writes_nothing():
    from io import StringIO

    from django.core.management import call_command

    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=3)
    invoice = invoice_due(org, customer, due)
    out = StringIO()
    call_command("run_reminders", "--dry-run", "--org", org.slug, "--now", at(due + timedelta(days=8)).isoformat(),
                 stdout=out)
    text = out.getvalue()
    assert f"SEND {invoice.number}" in text and "day +7" in text
    assert "skip" in text and "1 reminders would be sent" in text
    with tenant_context(org):
        assert not ReminderMessage.objects.exists()
    out = StringIO()
    call_command("run_reminders", "--org", org.slug, "--now", at(due + timedelta(days=8)).isoformat(), stdout=out)
    assert "1 queued" in out.getvalue() and "sent 1" in out.getvalue()
    assert len(mail.outbox) == 1 and invoice.number in mail.outbox[0].subject
