"""The schedule over simulated calendars: every point fires exactly once, holds and payments stop it."""

from datetime import timedelta

import pytest
from django.core import mail

from ledger_site.tenancy import tenant_context
from reminders.models import OutboxStatus, ReminderMessage
from tests.reminders.helpers import TODAY, at, invoice_due, org_with_customer, run

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
