"""The page listing the consolidated reminder e-mails (issue 19 #4: "one message per customer a day"):
Reminders → Customer e-mails. Per day: customer, the invoices listed, status, sent time, Message-ID,
a link to each invoice's own reminder history; filters; one organization only."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from invoicing.models_documents import EmailDelivery
from ledger_site.tenancy import tenant_context
from reminders.models import OutboxStatus, ReminderBatch
from reminders.outbox import deliver
from reminders.scheduler import scan
from tests.factories import CustomerFactory, add_member
from tests.reminders.helpers import at, invoice_due, org_with_customer
from tests.reminders.test_consolidated import AT_STEP, BASE, NO_QUEUE, consolidating

pytestmark = pytest.mark.django_db


def sent_batches(customers_offsets, deliver_them=True):
    """One consolidating organization whose customers (one per entry) each have invoices at the given
    steps on BASE, scanned (and delivered): (org, [(customer, invoices)])."""
    org, _, first = org_with_customer()
    consolidating(org)
    made = []
    for n, offsets in enumerate(customers_offsets):
        with tenant_context(org):
            customer = first if n == 0 else CustomerFactory(organization=org)
        made.append((customer, [invoice_due(org, customer, AT_STEP[o]) for o in offsets]))
    scan(now=at(BASE), org_ids=[org.pk], enqueue=NO_QUEUE)
    if deliver_them:
        deliver(org.pk, now=at(BASE))
    return org, made


def page(org, role=Role.VIEWER, **params):
    client = Client()
    client.force_login(add_member(org, role))
    return client.get(reverse("reminder_batches", kwargs={"org_slug": org.slug}), params)


def test_each_email_shows_its_customer_invoices_status_sent_time_and_message_id_with_history_links():
    org, [(customer, invoices), (other, theirs)] = sent_batches([(0, 7, 21), (14,)])
    response = page(org)
    assert response.status_code == 200
    html = response.content.decode()
    with tenant_context(org):
        batches = list(ReminderBatch.objects.order_by("pk"))
    assert len(batches) == 2 and all(b.status == OutboxStatus.SENT and b.message_id for b in batches)
    for b in batches:
        assert b.message_id.replace("<", "&lt;").replace(">", "&gt;") in html
        assert f'id="batch-{b.pk}"' in html
    assert customer.name in html and other.name in html
    for invoice in invoices + theirs:
        assert invoice.number in html
        assert f"{reverse('reminder_log', kwargs={'org_slug': org.slug})}?q={invoice.number}" in html
        assert reverse("invoice_detail", kwargs={"org_slug": org.slug, "pk": invoice.pk}) in html
    row = html.split(f'id="batch-{batches[0].pk}"')[1].split("</tr>")[0]
    assert all(i.number in row for i in invoices) and not any(i.number in row for i in theirs)
    assert "Sent" in row and "day +21" in row


def test_filters_by_status_search_and_day():
    org, [(customer, invoices), (other, theirs)] = sent_batches([(0, 7), (14,)], deliver_them=False)
    with tenant_context(org):  # a sent e-mail is frozen: fail one while it is still waiting
        first = ReminderBatch.objects.get(customer=customer)
        EmailDelivery.objects.filter(pk=first.email_id).update(status=OutboxStatus.FAILED, last_error="SMTP down")
    failed = page(org, status="failed").content.decode()
    assert customer.name in failed and "SMTP down" in failed and other.name not in failed
    by_invoice = page(org, q=theirs[0].number).content.decode()
    assert other.name in by_invoice and customer.name not in by_invoice
    day = BASE.isoformat()
    assert customer.name in page(org, **{"from": day, "to": day}).content.decode()
    later = (BASE + timedelta(days=1)).isoformat()
    assert "No e-mails match" in page(org, **{"from": later}).content.decode()
    bad = page(org, **{"from": "7 December"})
    assert bad.status_code == 200 and "Dates are written YYYY-MM-DD." in bad.content.decode()


def test_another_organizations_emails_never_show():
    mine, [(customer, invoices)] = sent_batches([(0, 7)])
    theirs, [(stranger, foreign)] = sent_batches([(14, 21)])
    html = page(mine).content.decode()
    assert customer.name in html and stranger.name not in html and html.count('id="batch-') == 1
    # (invoice numbers restart per organization, so the other's invoices are told apart by id)
    assert not any(f"/invoices/{i.pk}/" in html for i in foreign)
    with tenant_context(theirs):
        batch = ReminderBatch.objects.get()
    assert batch.message_id not in html and batch.message_id.replace("<", "&lt;") not in html
    # Searching for the other organization's customer or Message-ID finds nothing either.
    assert "No e-mails match" in page(mine, q=stranger.name).content.decode()
    assert "No e-mails match" in page(mine, q=batch.message_id.strip("<>")).content.decode()


def test_reachable_from_the_reminder_pages_and_the_query_count_does_not_grow_with_the_emails():
    org, _ = sent_batches([(0,), (7,)])
    client = Client()
    client.force_login(add_member(org, Role.VIEWER))
    url = reverse("reminder_batches", kwargs={"org_slug": org.slug})
    for name in ("reminder_log", "reminder_list", "reminder_policies", "dispute_list"):
        assert f'href="{url}"' in client.get(reverse(name, kwargs={"org_slug": org.slug})).content.decode()
    # Each line of the sent log that went out in a customer's e-mail links to it.
    log = client.get(reverse("reminder_log", kwargs={"org_slug": org.slug})).content.decode()
    assert log.count(f'href="{url}?q=INV-') == 2
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    bigger, _ = sent_batches([(0, 7), (7, 14), (14, 21), (21,), (0,), (-3, 0)])
    client.force_login(add_member(bigger, Role.VIEWER))
    with CaptureQueriesContext(connection) as more:
        html = client.get(reverse("reminder_batches", kwargs={"org_slug": bigger.slug})).content.decode()
    assert html.count('id="batch-') == 6
    assert len(more.captured_queries) == len(few.captured_queries)


def test_waiting_emails_are_listed_before_they_are_sent():
    org, [(customer, invoices)] = sent_batches([(0, 21)], deliver_them=False)
    html = page(org, status="pending").content.decode()
    assert customer.name in html and all(i.number in html for i in invoices) and "Waiting to send" in html
