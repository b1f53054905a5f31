"""An accepted quote becomes a recurring schedule in one click (once, keeping the link both ways,
also when clicked twice at once), and a sent quote is e-mailed through the documents' delivery
path: real SMTP (aiosmtpd), its stored PDF attached, its signed link in the text, the delivery log."""

import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import JournalEntry
from invoicing.models_documents import DeliveryKind, DeliveryStatus, EmailDelivery, StoredDocument
from invoicing.models_quotes import Quote
from invoicing.models_recurring import RecurringSchedule, RunAction
from invoicing.quotes import QuoteError, convert_to_schedule, decide, queue_quote_email, send_quote
from invoicing.recurring import run_schedule
from ledger_site.tenancy import tenant_context
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org
from tests.invoicing.test_email import run_queued_tasks
from tests.invoicing.test_quotes import make_quote, seller  # noqa: F401 - the fixture
from tests.smtp import smtp_server_fixture

# The worker's side of the queue (run_queued_tasks reads django-q2's tables): the worker's role.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("as_worker_role")]
smtp_server = pytest.fixture(smtp_server_fixture)


def accepted(org, owner, customer):
    with tenant_context(org, owner):
        quote = send_quote(make_quote(org, customer, reference="PO-77"))
        decide(quote, True, "192.0.2.9")
        quote.refresh_from_db()
    return quote


def test_an_accepted_quote_becomes_a_schedule_in_one_click_keeping_the_link(seller, client):  # noqa: F811
    org, owner, customer = seller
    quote = accepted(org, owner, customer)
    client.force_login(owner)
    base = f"/o/{org.slug}/invoices/quotes/{quote.pk}/"
    assert "Make it a recurring schedule" in client.get(base).content.decode()
    first = client.post(base + "schedule/")
    second = client.post(base + "schedule/")
    assert first.status_code == second.status_code == 302 and first.url == second.url  # the same schedule
    with tenant_context(org, owner):
        schedule = RecurringSchedule.objects.get(organization=org)
        quote.refresh_from_db()
        assert quote.schedule == schedule and schedule.source_quote == quote
        assert (schedule.customer, schedule.action, schedule.reference) == (customer, RunAction.DRAFT, "PO-77")
        assert [(li.description, li.quantity, li.unit_price, li.tax_rate_id) for li in schedule.lines.all()] == [
            (li.description, li.quantity, li.unit_price, li.tax_rate_id) for li in quote.lines.all()]
        assert schedule.start_date == org.today() and schedule.day_of_month == org.today().day
        assert JournalEntry.objects.filter(organization=org).count() == 0  # quotes never post
        # its first run makes a draft with the quote's total, for review, and nothing is posted
        [run] = run_schedule(schedule.pk, org.today())
        assert run.invoice.status == "draft" and run.invoice.total == quote.total
        assert JournalEntry.objects.filter(organization=org).count() == 0
    page = client.get(first.url).content.decode()
    assert quote.number in page and f"/quotes/{quote.pk}/" in page  # the schedule names its quote
    quote_page = client.get(base).content.decode()
    assert "Make it a recurring schedule" not in quote_page and schedule.name in quote_page
    # the quote can still become an invoice as well (a set-up fee, say), once
    assert "Convert to invoice" in quote_page


def test_only_an_accepted_quote_becomes_a_schedule_and_nothing_is_made_otherwise(seller, client):  # noqa: F811
    org, owner, customer = seller
    with tenant_context(org, owner):
        draft = make_quote(org, customer)
        sent = send_quote(make_quote(org, customer))
        declined = send_quote(make_quote(org, customer))
        decide(declined, False, "192.0.2.1")
        for quote in (draft, sent, declined):
            with pytest.raises(QuoteError, match="Only an accepted quote can become a recurring schedule"):
                convert_to_schedule(quote)
        assert not RecurringSchedule.objects.filter(organization=org).exists()
    archived = accepted(org, owner, customer)
    with tenant_context(org, owner):
        customer.archived_at = timezone.now()
        customer.save()
        with pytest.raises(QuoteError, match="The customer is archived"):
            convert_to_schedule(archived)
    client.force_login(owner)
    page = client.post(f"/o/{org.slug}/invoices/quotes/{sent.pk}/schedule/", follow=True).content.decode()
    assert "Only an accepted quote can become a recurring schedule" in page
    with tenant_context(org, owner):
        assert not RecurringSchedule.objects.filter(organization=org).exists()
        assert Quote.objects.get(pk=archived.pk).schedule is None


def test_a_viewer_cannot_make_a_schedule(seller):  # noqa: F811
    from accounts.models import Role
    from tests.factories import add_member

    org, owner, customer = seller
    quote = accepted(org, owner, customer)
    viewer = Client()
    viewer.force_login(add_member(org, Role.VIEWER))
    assert viewer.post(f"/o/{org.slug}/invoices/quotes/{quote.pk}/schedule/").status_code == 403
    with tenant_context(org, owner):
        assert not RecurringSchedule.objects.filter(organization=org).exists()


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_make_one_schedule():
    org, owner = make_org(name="Race Schedules")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
    quote = accepted(org, owner, customer)
    results = run_at_once(2, lambda i: convert_to_schedule(quote)[1], org=org)
    assert sorted(results) == [False, True]
    with tenant_context(org, owner):
        assert RecurringSchedule.objects.filter(organization=org).count() == 1


def test_a_sent_quote_is_emailed_with_its_pdf_and_link_through_smtp(seller, client, smtp_server,  # noqa: F811
                                                                     django_capture_on_commit_callbacks):
    org, owner, customer = seller
    with tenant_context(org, owner):
        customer.billing_emails = "rosa@marin.example"
        customer.save()
        quote = send_quote(make_quote(org, customer))
    client.force_login(owner)
    url = f"/o/{org.slug}/invoices/quotes/{quote.pk}/email/"
    form = client.get(url).content.decode()
    assert "rosa@marin.example" in form and f"Quote {quote.number} from Oak &amp; Sons" in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"recipients": "rosa@marin.example", "subject": "Quote {number}",
                                     "body": "Dear {customer}, here it is: {link}"})
    assert response.status_code == 302
    with tenant_context(org, owner):
        delivery = EmailDelivery.objects.get(quote=quote)
        assert (delivery.kind, delivery.status, delivery.customer_id) == (DeliveryKind.QUOTE,
                                                                          DeliveryStatus.QUEUED, customer.pk)
        assert run_queued_tasks() == ["sent"]
        delivery.refresh_from_db()
        stored = StoredDocument.objects.get(pk=delivery.document_id)
        assert delivery.status == DeliveryStatus.SENT
    [message] = smtp_server.wait_for(1) and smtp_server.messages
    assert message["Subject"] == f"Quote {quote.number}"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert hashlib.sha256(attachment.get_content()).hexdigest() == stored.sha256 == delivery.pdf_sha256
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert body.startswith("Dear Rosa Marin, here it is: http://testserver/p/q/")
    link = next(word for word in body.split() if "/p/q/" in word).replace("http://testserver", "")
    page = Client().get(link)
    assert page.status_code == 200 and quote.number in page.content.decode()
    # the quote's page lists the e-mail
    assert "rosa@marin.example" in client.get(f"/o/{org.slug}/invoices/quotes/{quote.pk}/").content.decode()


def test_a_draft_quote_cannot_be_emailed_and_bad_recipients_queue_nothing(seller, client):  # noqa: F811
    org, owner, customer = seller
    with tenant_context(org, owner):
        draft = make_quote(org, customer)
        with pytest.raises(QuoteError, match="Number the quote"):
            queue_quote_email(draft, ["a@example.com"], "s", "b")
        sent = send_quote(make_quote(org, customer))
    client.force_login(owner)
    assert client.get(f"/o/{org.slug}/invoices/quotes/{draft.pk}/email/").status_code == 302
    page = client.post(f"/o/{org.slug}/invoices/quotes/{sent.pk}/email/",
                       {"recipients": "not-an-address", "subject": "s", "body": "b"})
    assert page.status_code == 200 and "is not a valid e-mail address" in page.content.decode()
    with tenant_context(org, owner):
        assert not EmailDelivery.objects.filter(organization=org).exists()
