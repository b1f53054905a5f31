"""One reminder end to end through a real SMTP server (aiosmtpd): amounts, Message-ID, a working link."""

from datetime import timedelta

import pytest
from django.test import Client

from ledger_site.tenancy import tenant_context
from reminders.models import OutboxStatus, ReminderMessage
from reminders.outbox import deliver
from reminders.scheduler import scan
from tests.reminders.helpers import TODAY, at, invoice_due, org_with_customer
from tests.smtp import SmtpServer, free_port, smtp_server_fixture, use_smtp

pytestmark = pytest.mark.django_db
smtp_server = pytest.fixture(smtp_server_fixture)


def test_a_reminder_goes_through_smtp_with_the_right_amounts_and_a_public_link_that_opens(smtp_server, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=2)
    invoice = invoice_due(org, customer, due, price="512.25")  # 1,024.50 + 20% = 1,229.40
    now = at(due + timedelta(days=7))
    scan(now=now, org_ids=[org.pk], enqueue=lambda *a: None)
    assert deliver(org.pk, now=now).sent == 1
    smtp_server.wait_for(1)
    (message,) = smtp_server.messages
    body = message.get_body(("plain",)).get_content()
    assert message["To"] == customer.email_list[0]
    assert invoice.number in message["Subject"]
    assert "1,229.40 EUR" in body and "7 days overdue" in body
    with tenant_context(org):
        row = ReminderMessage.objects.get(invoice=invoice, status=OutboxStatus.SENT)
    assert message["Message-ID"] == row.message_id
    link = next(word for word in body.split() if word.startswith("http://testserver/"))
    page = Client().get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert invoice.number in page.content.decode()


def test_smtp_down_then_up_is_retried_and_delivered_once(settings):
    port = free_port()
    use_smtp(settings, port)
    org, _, customer = org_with_customer()
    due = TODAY + timedelta(days=2)
    invoice = invoice_due(org, customer, due)
    now = at(due)
    scan(now=now, org_ids=[org.pk], enqueue=lambda *a: None)
    assert deliver(org.pk, now=now).retrying == 1
    with tenant_context(org):
        row = ReminderMessage.objects.get(invoice=invoice, offset_days=0)
    assert row.status == OutboxStatus.PENDING and row.last_error and row.attempts == 1
    server = SmtpServer(port=port).start()
    try:
        assert deliver(org.pk, now=now + timedelta(hours=1)).sent == 1
        server.wait_for(1)
        assert len(server.messages) == 1
    finally:
        server.stop()
