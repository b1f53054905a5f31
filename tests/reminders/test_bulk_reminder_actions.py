"""Reminders' bulk actions on the invoice list (issue 21, reminders.bulk_actions, plugged into
invoicing.bulk at ready()): "send a reminder now" sends the schedule's next step through the
manual path, never twice for one step; "put on hold / dispute" opens a dispute with the chosen
reason."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from invoicing import bulk
from ledger_site.tenancy import tenant_context
from reminders.models import OutboxKind, ReminderMessage
from reminders.models_collections import Dispute
from tests.factories import add_member
from tests.reminders.helpers import TODAY, invoice_due, org_with_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    org, owner, customer = org_with_customer(billing_emails="ap@buyer.example")
    finance = add_member(org, Role.FINANCE)
    client = Client()
    client.force_login(finance)
    late = [invoice_due(org, customer, TODAY - timedelta(days=9)) for _ in range(2)]
    return org, finance, client, late


def post(org, client, data, capture):
    with capture(execute=True):
        return client.post(reverse("invoice_bulk", kwargs={"org_slug": org.slug}), data)


def notes(response):
    return {r.invoice.pk: (r.ok, str(r.note)) for r in response.context["rows"]}


def test_the_actions_are_plugged_in_by_reminders(setup):
    org, finance, client, late = setup
    assert {"remind", "dispute"} <= set(bulk.ACTIONS)
    page = client.get(reverse("invoice_list", kwargs={"org_slug": org.slug})).content.decode()
    assert "Send a reminder now" in page and "Put on hold / dispute" in page


def test_remind_sends_the_next_step_once(setup, django_capture_on_commit_callbacks):
    org, finance, client, late = setup
    ids = [i.pk for i in late]
    response = post(org, client, {"action": "remind", "confirm": "1", "ids": ids}, django_capture_on_commit_callbacks)
    assert [notes(response)[pk][0] for pk in ids] == [True, True]
    assert len(mail.outbox) == 2 and all(m.to == ["ap@buyer.example"] for m in mail.outbox)
    with tenant_context(org):
        rows = list(ReminderMessage.objects.filter(kind=OutboxKind.MANUAL))
        assert len(rows) == 2 and {r.created_by for r in rows} == {finance}
    again = post(org, client, {"action": "remind", "confirm": "1", "ids": ids}, django_capture_on_commit_callbacks)
    assert all(not ok and "already sent" in note for ok, note in notes(again).values())
    assert len(mail.outbox) == 2


def test_remind_skips_a_step_already_sent_by_hand(setup, django_capture_on_commit_callbacks):
    org, finance, client, late = setup
    page = client.get(reverse("reminder_send", kwargs={"org_slug": org.slug, "pk": late[0].pk}))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reminder_send", kwargs={"org_slug": org.slug, "pk": late[0].pk}),
                    {"step": page.context["step"].pk, "key": page.context["key"]})
    assert len(mail.outbox) == 1
    response = post(org, client, {"action": "remind", "confirm": "1", "ids": [late[0].pk, late[1].pk]},
                    django_capture_on_commit_callbacks)
    result = notes(response)
    assert result[late[0].pk][0] is False and "already sent" in result[late[0].pk][1]
    assert result[late[1].pk][0] is True
    assert len(mail.outbox) == 2


def test_dispute_needs_a_reason_and_disputes_each_invoice_once(setup, django_capture_on_commit_callbacks):
    org, finance, client, late = setup
    ids = [i.pk for i in late]
    confirm_page = post(org, client, {"action": "dispute", "ids": ids}, django_capture_on_commit_callbacks)
    assert 'name="reason"' in confirm_page.content.decode()
    refused = post(org, client, {"action": "dispute", "confirm": "1", "ids": ids, "reason": "bogus"},
                   django_capture_on_commit_callbacks)
    assert refused.status_code == 302
    assert "Choose a reason from the list." in client.get(refused["Location"]).content.decode()
    with tenant_context(org):
        assert not Dispute.objects.exists()
    done = post(org, client, {"action": "dispute", "confirm": "1", "ids": ids, "reason": "not_received"},
                django_capture_on_commit_callbacks)
    assert all(ok for ok, _ in notes(done).values())
    with tenant_context(org):
        disputed = sorted(Dispute.objects.values_list("invoice_id", "reason"))
        assert disputed == [(pk, "not_received") for pk in sorted(ids)]
    again = post(org, client, {"action": "dispute", "confirm": "1", "ids": ids, "reason": "other"},
                 django_capture_on_commit_callbacks)
    assert all(not ok and note.startswith("Already disputed") for ok, note in notes(again).values())
    with tenant_context(org):
        assert Dispute.objects.count() == 2
    reminded = post(org, client, {"action": "remind", "confirm": "1", "ids": ids}, django_capture_on_commit_callbacks)
    assert all(not ok and "disputed" in note for ok, note in notes(reminded).values())  # a hold stops the reminder
    assert len(mail.outbox) == 0
