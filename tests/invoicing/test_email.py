"""E-mailing invoices through a real SMTP server (aiosmtpd), the delivery log and retries."""

import ast
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing import mail
from invoicing.models import InvoiceEvent, InvoiceSettings
from invoicing.models_documents import DeliveryStatus, EmailDelivery, StoredDocument
from invoicing.tasks import send_email_delivery
from ledger_site.tenancy import current_org_id, set_db_context, tenant_context
from tests.documents_helpers import documents_world, make_billing_customer, make_billing_org
from tests.invoicing_helpers import draft, issued
from tests.smtp import SmtpServer, free_port, smtp_server_fixture, use_smtp

# The worker's side of the queue (django-q2's tables): only the worker's role may read them.
pytestmark = pytest.mark.usefixtures("as_worker_role")

doc_world = pytest.fixture(documents_world)
smtp_server = pytest.fixture(smtp_server_fixture)


def queued_task_args(org_id=None):
    """(func, args) of every e-mail task waiting in django-q2's ORM broker (issuing also queues
    its PDF render: tests/invoicing/test_pdf_storage.py)."""
    from django_q.signing import SignedPackage

    tasks = []
    for row in OrmQ.objects.all():
        package = SignedPackage.loads(row.payload)
        if package["func"] == mail.TASK:
            tasks.append((package["func"], package["args"]))
    return tasks


def run_queued_tasks():
    """Do what a django-q2 worker does with our queue: call each task function with its args
    (outside any tenant context, like a worker), then drop the queue rows."""
    results = []
    caller = current_org_id()
    for func, args in queued_task_args():
        assert func == mail.TASK
        set_db_context(None, None)
        results.append(send_email_delivery(*args))
    OrmQ.objects.all().delete()
    set_db_context(caller, None)
    return results


def send_through_view(client, doc_world, invoice, django_capture_on_commit_callbacks, **overrides):
    client.force_login(doc_world.finance)
    data = {"recipients": "ap@contoso.example, finance@contoso.example",
            "subject": f"Invoice {invoice.number} from Northwind Tools Ltd",
            "body": "Dear Contoso,\nplease find the invoice attached: {link}\nRegards"}
    data.update(overrides)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(doc_world.url("invoice_send", pk=invoice.pk), data)
    return response


def test_the_invoice_is_emailed_with_its_pdf_through_smtp_and_logged(doc_world, client, smtp_server,
                                                                        django_capture_on_commit_callbacks):
    invoice = issued(doc_world.org, doc_world.customer)
    response = send_through_view(client, doc_world, invoice, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    with doc_world.ctx():
        delivery = EmailDelivery.objects.get(invoice=invoice)
        assert delivery.status == DeliveryStatus.QUEUED and delivery.attempts == 0
        # queued after commit to django-q2, with the organization and the delivery
        assert queued_task_args() == [(mail.TASK, (doc_world.org.pk, delivery.pk))]
        assert run_queued_tasks() == ["sent"]

    [message] = smtp_server.wait_for(1) and smtp_server.messages
    [envelope] = smtp_server.envelopes
    assert sorted(envelope.rcpt_tos) == ["ap@contoso.example", "finance@contoso.example"]
    assert message["Subject"] == f"Invoice {invoice.number} from Northwind Tools Ltd"
    assert "Northwind Tools Ltd" in message["From"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"invoice-{invoice.number}.pdf"
    pdf = attachment.get_content()
    with doc_world.ctx():
        delivery.refresh_from_db()
        stored = StoredDocument.objects.get(invoice=invoice)
        assert hashlib.sha256(pdf).hexdigest() == delivery.pdf_sha256 == stored.sha256
        assert delivery.status == DeliveryStatus.SENT and delivery.sent_at and delivery.attempts == 1
        assert delivery.message_id == message["Message-ID"]
        event = InvoiceEvent.objects.get(invoice=invoice, kind="emailed")
        assert "ap@contoso.example" in event.message and "finance@contoso.example" in event.message
        assert event.actor == doc_world.finance
    # the body carries the customer's link, and it opens the invoice
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = next(word for word in body.split() if "/p/" in word)
    assert link.startswith("http://testserver/p/")
    client.logout()
    page = client.get(link.replace("http://testserver", ""))
    assert page.status_code == 200 and invoice.number in page.content.decode()


def test_the_send_form_is_prefilled_from_billing_emails_and_the_templates(doc_world, client):
    with doc_world.ctx():
        s = InvoiceSettings.objects.get(organization=doc_world.org)
        s.email_subject = "{organization}: invoice {number} ({amount_due}, due {due_date}) for {customer}"
        s.save()
    invoice = issued(doc_world.org, doc_world.customer)
    client.force_login(doc_world.finance)
    page = client.get(doc_world.url("invoice_send", pk=invoice.pk)).content.decode()
    assert "ap@contoso.example, finance@contoso.example" in page
    due = invoice.due_date.strftime("%-d %b %Y")
    assert (f"Northwind Tools Ltd: invoice {invoice.number} (240.00 EUR, due {due}) for Contoso Trading GmbH"
            in page)
    assert "{link}" in page  # filled in when queued, once the link exists


def test_the_task_enters_the_tenant_context_itself(doc_world, smtp_server, django_capture_on_commit_callbacks):
    invoice = issued(doc_world.org, doc_world.customer)
    with django_capture_on_commit_callbacks(execute=False):
        delivery = mail.queue_invoice_email(invoice, ["ap@contoso.example"], "S {number}", "B {link}",
                                            base_url="https://app.example")
    set_db_context(None, None)  # a worker has no tenant
    assert EmailDelivery.objects.filter(pk=delivery.pk).count() == 0  # RLS: invisible without it
    assert send_email_delivery(doc_world.org.pk, delivery.pk) == "sent"
    assert send_email_delivery(doc_world.org.pk, delivery.pk) == "nothing to do: sent"  # never twice
    assert len(smtp_server.wait_for(1)) == 1
    with doc_world.ctx():
        delivery.refresh_from_db()
        assert delivery.subject == f"S {invoice.number}"
        assert delivery.body.startswith("B https://app.example/p/")


def test_a_down_server_is_logged_retried_later_and_then_succeeds(doc_world, settings,
                                                                   django_capture_on_commit_callbacks):
    port = free_port()  # nothing listens here yet
    use_smtp(settings, port)
    invoice = issued(doc_world.org, doc_world.customer)
    with django_capture_on_commit_callbacks(execute=False):
        delivery = mail.queue_invoice_email(invoice, ["ap@contoso.example"], "Invoice {number}", "{link}")
    before = timezone.now()
    assert send_email_delivery(doc_world.org.pk, delivery.pk) == "failed"
    with doc_world.ctx():
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.RETRYING and delivery.attempts == 1
        assert "Connection refused" in delivery.last_error or "ConnectionRefused" in delivery.last_error
        assert delivery.next_attempt_at >= before + timedelta(seconds=59)
        [retry] = Schedule.objects.filter(func=mail.TASK)
        assert ast.literal_eval(retry.args) == (doc_world.org.pk, delivery.pk)
        assert retry.schedule_type == Schedule.ONCE and retry.next_run == delivery.next_attempt_at
        assert not InvoiceEvent.objects.filter(invoice=invoice, kind="emailed").exists()

    server = SmtpServer(port=port).start()
    try:
        # the scheduler runs the retry when it is due
        assert send_email_delivery(*ast.literal_eval(retry.args)) == "sent"
        assert len(server.wait_for(1)) == 1
    finally:
        server.stop()
    with doc_world.ctx():
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
        assert "Connection refused" in delivery.last_error or "ConnectionRefused" in delivery.last_error
        assert InvoiceEvent.objects.filter(invoice=invoice, kind="emailed").count() == 1


def test_after_the_last_attempt_it_is_failed_on_the_timeline_and_a_person_can_retry(
        doc_world, settings, client, django_capture_on_commit_callbacks):
    port = free_port()
    use_smtp(settings, port)
    invoice = issued(doc_world.org, doc_world.customer)
    with django_capture_on_commit_callbacks(execute=False):
        delivery = mail.queue_invoice_email(invoice, ["ap@contoso.example"], "Invoice {number}", "{link}")
    outcomes = [send_email_delivery(doc_world.org.pk, delivery.pk) for _ in range(delivery.max_attempts)]
    assert outcomes == ["failed"] * delivery.max_attempts
    with doc_world.ctx():
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == delivery.max_attempts
        assert Schedule.objects.filter(func=mail.TASK).count() == delivery.max_attempts - 1  # backoff between
        delays = sorted(s.next_run for s in Schedule.objects.filter(func=mail.TASK))
        assert delays == sorted(delays)
        assert InvoiceEvent.objects.filter(invoice=invoice, kind="email_failed").count() == 1
    assert send_email_delivery(doc_world.org.pk, delivery.pk) == "nothing to do: failed"

    # shown on the invoice's documents panel with the error and a retry button
    client.force_login(doc_world.finance)
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user, request.org = doc_world.finance, doc_world.org
    from accounts.models import Membership

    with doc_world.ctx():
        request.membership = Membership.objects.get(user=doc_world.finance, organization=doc_world.org)
        html = Template("{% load documents %}{% document_actions invoice %}").render(
            Context({"request": request, "invoice": invoice, "csrf_token": "t"}))
    assert 'data-status="failed"' in html and "Connection refused" in html and "Retry now" in html

    server = SmtpServer(port=port).start()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(doc_world.url("invoice_delivery_retry", pk=invoice.pk, delivery_pk=delivery.pk))
        assert response.status_code == 302
        with doc_world.ctx():
            assert run_queued_tasks() == ["sent"]
        assert len(server.wait_for(1)) == 1
    finally:
        server.stop()
    with doc_world.ctx():
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT


def test_an_invoice_voided_before_the_worker_runs_is_not_sent(doc_world, smtp_server,
                                                               django_capture_on_commit_callbacks):
    from invoicing.services import void_invoice

    invoice = issued(doc_world.org, doc_world.customer)
    with django_capture_on_commit_callbacks(execute=False):
        delivery = mail.queue_invoice_email(invoice, ["ap@contoso.example"], "Invoice {number}", "{link}")
    void_invoice(invoice, "wrong customer")
    assert send_email_delivery(doc_world.org.pk, delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "voided" in delivery.last_error
    assert not Schedule.objects.filter(func=mail.TASK).exists()  # not retried
    assert smtp_server.envelopes == []
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="email_failed").count() == 1


@pytest.mark.parametrize("recipients, error", [
    ("", "This field is required"),
    ("not-an-address", "is not a valid e-mail address"),
    ("a@example.com, b@", "is not a valid e-mail address"),
    (", ".join(f"p{n}@example.com" for n in range(11)), "At most 10 recipients"),
])
def test_bad_recipients_get_a_message_and_queue_nothing(doc_world, client, django_capture_on_commit_callbacks,
                                                         recipients, error):
    invoice = issued(doc_world.org, doc_world.customer)
    response = send_through_view(client, doc_world, invoice, django_capture_on_commit_callbacks, recipients=recipients)
    assert response.status_code == 200 and error in response.content.decode()
    with doc_world.ctx():
        assert not EmailDelivery.objects.exists() and queued_task_args() == []


def test_a_subject_with_line_breaks_becomes_one_line(doc_world, client, smtp_server,
                                                     django_capture_on_commit_callbacks):
    invoice = issued(doc_world.org, doc_world.customer)
    send_through_view(client, doc_world, invoice, django_capture_on_commit_callbacks,
                      subject="Invoice\r\nBcc: victim@example.com")
    with doc_world.ctx():
        run_queued_tasks()
    [envelope] = smtp_server.wait_for(1)
    assert "victim@example.com" not in envelope.rcpt_tos
    assert smtp_server.messages[0]["Subject"] == "Invoice Bcc: victim@example.com"
    assert smtp_server.messages[0]["Bcc"] is None


def test_drafts_cannot_be_sent_and_viewers_cannot_send(doc_world, client, django_capture_on_commit_callbacks):
    invoice = draft(doc_world.org, doc_world.customer)
    response = send_through_view(client, doc_world, invoice, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    with doc_world.ctx():
        issued_one = issued(doc_world.org, doc_world.customer)
    client.force_login(doc_world.viewer)
    assert client.post(doc_world.url("invoice_send", pk=issued_one.pk),
                       {"recipients": "a@b.example"}).status_code == 403
    with doc_world.ctx():
        assert not EmailDelivery.objects.exists()


def test_another_organizations_invoice_cannot_be_sent(doc_world, client, django_capture_on_commit_callbacks):
    other, _ = make_billing_org(name="Elsewhere")
    with tenant_context(other):
        theirs = issued(other, make_billing_customer(other))
    response = send_through_view(client, doc_world, theirs, django_capture_on_commit_callbacks)
    assert response.status_code == 404
    with tenant_context(other):
        assert not EmailDelivery.objects.exists()


def test_the_delivery_log_is_reusable_for_a_statement_with_its_own_document(doc_world, smtp_server,
                                                                            django_capture_on_commit_callbacks):
    content = b"%PDF-1.7 statement bytes"
    doc = StoredDocument.objects.create(organization=doc_world.org, kind="statement", customer=doc_world.customer,
                                        state_key="statement-2026-03", filename="statement-2026-03.pdf",
                                        content=content, sha256=hashlib.sha256(content).hexdigest(),
                                        size=len(content))
    delivery = EmailDelivery.objects.create(organization=doc_world.org, kind="statement", customer=doc_world.customer,
                                            document=doc, recipients=["ap@contoso.example"],
                                            subject="Your statement", body="Attached.")
    with django_capture_on_commit_callbacks(execute=True):
        mail.queue_delivery(delivery)
    assert run_queued_tasks() == ["sent"]
    [message] = smtp_server.wait_for(1) and smtp_server.messages
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == content
    delivery.refresh_from_db()
    assert delivery.pdf_sha256 == doc.sha256 and delivery.status == DeliveryStatus.SENT


@settings(deadline=None, max_examples=200)
@given(template=st.text(max_size=200), value=st.text(max_size=30))
def test_property_fill_replaces_only_known_placeholders(template, value):
    values = {"number": value}
    out = mail.fill(template, values)
    assert out == mail.PLACEHOLDER.sub(lambda m: value if m.group(1) == "number" else m.group(0), template)
    if "{number}" not in template:
        assert out == template


def test_fill_never_reaches_into_objects():
    assert mail.fill("{number.__class__} {0} {number!r} {customer}", {"number": "INV-1"}) == \
        "{number.__class__} {0} {number!r} {customer}"
