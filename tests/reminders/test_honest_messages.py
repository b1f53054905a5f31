"""Honest reminders (issue 19 #5): a caught-up step says what is true on the day it goes out; From
is the organization's name; Reply-To is its reply address once verified by the e-mailed link."""

import re
from datetime import timedelta

import pytest
from django.core import mail

from ledger_site.tenancy import tenant_context
from reminders.models import ReminderSettings
from reminders.outbox import due_when
from tests.reminders.helpers import TODAY, at, invoice_due, org_with_customer, run
from tests.smtp import smtp_server_fixture

pytestmark = pytest.mark.django_db
smtp_server = pytest.fixture(smtp_server_fixture)


def test_due_when_is_true_on_the_day():
    due = TODAY
    assert due_when(due, due - timedelta(days=3), "7 Dec") == "is due on 7 Dec"
    assert due_when(due, due, "7 Dec") == "is due today"
    assert due_when(due, due + timedelta(days=3), "7 Dec") == "was due on 7 Dec"


def test_a_step_caught_up_after_a_pause_says_was_due_and_offers_no_payment(smtp_server, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    org, owner, customer = org_with_customer()
    due = TODAY + timedelta(days=2)
    invoice = invoice_due(org, customer, due)
    run(at(due + timedelta(days=3)), org)  # the first scan three days after the due date: step 0 caught up
    smtp_server.wait_for(1)
    (message,) = smtp_server.messages
    body = message.get_body(("plain",)).get_content()
    assert invoice.number in message["Subject"] and "was due on" in message["Subject"]
    assert "is due today" not in body and "was due on" in body
    assert "pay it here" not in body and "pay here" not in body.lower()


def test_from_is_the_organization_and_reply_to_only_once_verified(client, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    org, owner, customer = org_with_customer()
    due = TODAY + timedelta(days=2)
    invoice = invoice_due(org, customer, due)
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):  # the verification mail goes after commit
        response = client.post(f"/o/{org.slug}/reminders/settings/", {
            "timezone": org.timezone, "send_hour": "8", "reply_to": "accounts@shop.example",
            "promise_grace_days": "3", "portal_disputes": "on"}, follow=True)
    assert response.status_code == 200
    (verification,) = [m for m in mail.outbox if m.to == ["accounts@shop.example"]]
    assert org.name in verification.from_email
    link = re.search(r"http://testserver(/p/reply-address/\S+/)", verification.body).group(1)
    mail.outbox.clear()
    run(at(due), org)  # before verification: no Reply-To
    (first,) = [m for m in mail.outbox if invoice.number in m.subject]
    assert first.from_email.startswith(f'"{org.name}"') or first.from_email.startswith(org.name)
    assert first.reply_to == []
    assert client.get(link).status_code == 200
    with tenant_context(org):
        assert ReminderSettings.objects.get(organization=org).reply_to_verified_at is not None
    assert client.get(link.replace("reply-address/", "reply-address/x")).status_code == 404
    mail.outbox.clear()
    run(at(due + timedelta(days=7)), org)
    (second,) = [m for m in mail.outbox if invoice.number in m.subject]
    assert second.reply_to == ["accounts@shop.example"] and org.name in second.from_email
    # A changed address is unverified again until its own link is opened.
    client.post(f"/o/{org.slug}/reminders/settings/", {
        "timezone": org.timezone, "send_hour": "8", "reply_to": "other@shop.example", "promise_grace_days": "3"})
    with tenant_context(org):
        assert ReminderSettings.objects.get(organization=org).reply_to_verified_at is None
