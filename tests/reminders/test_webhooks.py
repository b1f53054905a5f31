"""Webhooks: every event reaches a real local receiver, correctly signed; failures retry with
backoff, then disable the endpoint and e-mail the owners once; private addresses are refused at
registration and at delivery; one organization's events and endpoints stay its own."""

import ipaddress
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from accounts.models import Role
from accounts.tasks import checkpoint_all
from invoicing.credit_notes import credit_amount
from invoicing.services import void_invoice
from ledger_site.tenancy import tenant_context
from payments.services import reverse_payment
from reminders import webhooks
from reminders.disputes import raise_dispute, resolve
from reminders.models import (
    DeliveryStatus,
    ReminderStep,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from reminders.outbox import deliver as deliver_reminders
from reminders.outbox import queue_manual
from reminders.overdue_events import announce as announce_overdue
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay
from tests.reminders.webhook_helpers import Receiver, verify_signature
from tests.smtp import smtp_server_fixture

pytestmark = pytest.mark.django_db
smtp_server = pytest.fixture(smtp_server_fixture)
ALL = list(WebhookEvent.values)


@pytest.fixture
def dev_mode(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    return settings


def endpoint_for(org, url, events=ALL):
    with tenant_context(org):
        return webhooks.create_endpoint(org, url, events)


def test_every_event_type_reaches_the_receiver_correctly_signed(dev_mode):
    org, owner = make_org()
    with Receiver() as receiver:
        endpoint = endpoint_for(org, receiver.url)
        with tenant_context(org):
            customer = CustomerFactory(organization=org)                             # customer.created
            customer.name = "Renamed Ltd"
            customer.save()                                                           # customer.updated
            invoice = issued(org, customer)                                           # invoice.issued
            payment = pay(org, customer, invoice.total)                               # payment.recorded, invoice.paid
            reverse_payment(payment, reason="bounced")                                # payment.reversed
            other = issued(org, customer)                                             # invoice.issued
            void_invoice(other, "typo")                                               # invoice.voided
            credit_amount(customer, Decimal("10.00"), "goodwill", invoice=invoice)   # credit_note.issued
            third = issued(org, customer)                                             # invoice.issued
            dispute = raise_dispute(third, reason="wrong_amount", amount=Decimal("20.00"),
                                    actor=owner)                                      # dispute.opened
            resolve(dispute, outcome="rejected", note="Price as quoted", actor=owner)  # dispute.resolved
            step = ReminderStep.objects.filter(organization=org).order_by("offset_days").first()
            message, _created = queue_manual(third, step, owner, "webhook-test")
        deliver_reminders(org.pk, ids=[message.pk])                                    # reminder.sent
        checkpoint_all()                                                              # ledger.checkpoint
        with tenant_context(org):
            today = org.today()
            late = issued(org, customer, issue_date=today - timedelta(days=31),
                          due_date=today - timedelta(days=1))                         # invoice.issued
            announce_overdue(org)                                                      # invoice.overdue
            report = webhooks.deliver(org.pk)
        got = receiver.received()
    assert report.delivered == 16 and report.retrying == report.failed == 0
    assert sorted(r["headers"]["Ledgerline-Event"] for r in got) == sorted(
        ALL + ["invoice.issued"] * 3), "one request per event, none missing, none twice"
    with tenant_context(org):
        rows = {str(d.delivery_id): d for d in WebhookDelivery.objects.all()}
    for request in got:
        headers, body = request["headers"], request["body"]
        assert verify_signature(endpoint.secret, headers["Ledgerline-Signature"], body)
        assert not verify_signature("whsec_wrong", headers["Ledgerline-Signature"], body)
        assert not verify_signature(endpoint.secret, headers["Ledgerline-Signature"], body.replace(b"}", b" }", 1))
        event = json.loads(body)
        assert event["type"] == headers["Ledgerline-Event"] and event["organization"] == org.pk
        assert headers["Content-Type"] == "application/json" and request["path"] == "/hooks/ledgerline"
        row = rows[headers["Ledgerline-Delivery"]]
        assert row.status == DeliveryStatus.DELIVERED and row.body.encode() == body and str(row.event_id) == event["id"]
    by_type = {json.loads(r["body"])["type"]: json.loads(r["body"])["data"] for r in got}
    assert by_type["invoice.paid"] == {**by_type["invoice.paid"], "id": invoice.pk, "amount_due": "0.00"}
    assert by_type["payment.recorded"]["amount"] == str(invoice.total)
    reversed_ = by_type["payment.reversed"]
    assert reversed_["reversed"] is True and reversed_["reversal_reason"] == "bounced"
    assert by_type["invoice.voided"]["id"] == other.pk and by_type["invoice.voided"]["status"] == "void"
    assert by_type["credit_note.issued"]["total"] == "10.00"
    assert by_type["customer.created"]["id"] == customer.pk
    assert by_type["customer.updated"] == {**by_type["customer.updated"], "id": customer.pk, "name": "Renamed Ltd",
                                           "archived": False}
    assert by_type["ledger.checkpoint"]["organization"] == org.slug and by_type["ledger.checkpoint"]["signature"]
    with tenant_context(org):
        attempts = list(WebhookAttempt.objects.all())
    assert by_type["dispute.opened"] == {**by_type["dispute.opened"], "invoice": {"id": third.pk}, "amount": "20.00",
                                         "reason": "wrong_amount", "status": "open"}
    resolved = by_type["dispute.resolved"]
    assert resolved["outcome"] == "rejected" and resolved["note"] == "Price as quoted"
    assert by_type["reminder.sent"]["invoice"] == {"id": third.pk, "number": third.number}
    assert by_type["invoice.overdue"] == {**by_type["invoice.overdue"], "id": late.pk, "days_overdue": 1}
    assert len(attempts) == 16 and all(a.status_code == 200 and a.error == "" for a in attempts)


def test_only_subscribed_events_are_written_and_nothing_when_the_business_event_rolls_back(dev_mode):
    org, _ = make_org()
    endpoint_for(org, "http://127.0.0.1:9/a", events=["invoice.paid"])
    endpoint_for(org, "http://127.0.0.1:9/b", events=["customer.created", "invoice.issued"])
    with tenant_context(org):
        customer = CustomerFactory(organization=org)
        with pytest.raises(RuntimeError), transaction.atomic():
            issued(org, customer)
            assert WebhookDelivery.objects.filter(event_type="invoice.issued").count() == 1
            raise RuntimeError("the request fails after issuing")
        rows = list(WebhookDelivery.objects.values_list("event_type", "endpoint__url"))
    assert rows == [("customer.created", "http://127.0.0.1:9/b")]


def test_a_failing_receiver_is_retried_with_backoff_then_disabled_and_owners_emailed_once(
        dev_mode, smtp_server, django_capture_on_commit_callbacks):
    dev_mode.WEBHOOKS_DISABLE_AFTER = 3
    org, owner = make_org()
    second_owner = add_member(org, Role.OWNER)
    add_member(org, Role.FINANCE)
    with Receiver(status=500) as receiver:
        endpoint = endpoint_for(org, receiver.url, events=["customer.created"])
        with tenant_context(org):
            CustomerFactory(organization=org)
            delivery = WebhookDelivery.objects.get()
            t0 = delivery.next_attempt_at
            with django_capture_on_commit_callbacks(execute=True):
                assert webhooks.deliver(org.pk, now=t0).retrying == 1
                delivery.refresh_from_db()
                assert delivery.next_attempt_at == t0 + timedelta(minutes=1) and delivery.status == "pending"
                assert not webhooks.deliver(org.pk, now=t0 + timedelta(seconds=59)).any, "waits out the backoff"
                assert webhooks.deliver(org.pk, now=t0 + timedelta(minutes=1)).retrying == 1
                delivery.refresh_from_db()
                assert delivery.next_attempt_at == t0 + timedelta(minutes=6), "the second pause is longer"
                assert not webhooks.deliver(org.pk, now=t0 + timedelta(minutes=5)).any
                webhooks.deliver(org.pk, now=t0 + timedelta(minutes=6))
                endpoint.refresh_from_db()
                assert not endpoint.is_active and endpoint.consecutive_failures == 3
                assert "500" in endpoint.disabled_reason
                CustomerFactory(organization=org)  # an endpoint that is disabled gets no new events
                later = t0 + timedelta(days=2)
                assert not webhooks.deliver(org.pk, now=later).any, "a disabled endpoint is not sent to"
            attempts = list(WebhookAttempt.objects.order_by("number").values_list("number", "status_code", "error"))
        assert len(receiver.received()) == 3
    assert attempts == [(n, 500, "The receiver answered 500.") for n in (1, 2, 3)]
    smtp_server.wait_for(1)
    messages = smtp_server.messages
    assert len(messages) == 1, "one e-mail, to the owners"
    assert sorted(a.strip() for a in messages[0]["To"].split(",")) == sorted([owner.email, second_owner.email])
    assert endpoint.url in messages[0]["Subject"]


def test_a_success_resets_the_failure_count_and_a_redirect_is_not_followed(dev_mode):
    org, _ = make_org()
    with Receiver(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}) as receiver:
        endpoint = endpoint_for(org, receiver.url, events=["customer.created"])
        with tenant_context(org):
            CustomerFactory(organization=org)
            assert webhooks.deliver(org.pk).retrying == 1
            assert "302" in WebhookAttempt.objects.get().error
        assert len(receiver.received()) == 1
        receiver.status = 204
        with tenant_context(org):
            endpoint.refresh_from_db()
            assert endpoint.consecutive_failures == 1
            assert webhooks.deliver(org.pk, now=timezone.now() + timedelta(minutes=2)).delivered == 1
            endpoint.refresh_from_db()
            assert endpoint.consecutive_failures == 0


BAD_URLS = [
    ("http://127.0.0.1:8000/hook", "127.0.0.1"),
    ("http://localhost/hook", "127.0.0.1"),
    ("http://10.1.2.3/hook", "10.1.2.3"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://[::1]/hook", "::1"),
    ("http://[::ffff:10.0.0.1]/hook", "10.0.0.1"),
    ("http://224.0.0.1/hook", "224.0.0.1"),
    ("http://0.0.0.0/hook", "0.0.0.0"),  # noqa: S104 - a URL refused, nothing binds
]


@pytest.mark.parametrize("url,address", BAD_URLS)
def test_private_addresses_are_refused_at_registration(url, address, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    org, _ = make_org()
    with tenant_context(org), pytest.raises(webhooks.WebhookUrlError, match="non-public address"):
        webhooks.create_endpoint(org, url, ["invoice.issued"])
    with tenant_context(org):
        assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url,message", [
    ("ftp://93.184.215.14/hook", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("https://user:secret@93.184.215.14/hook", "user name or password"),
    ("https://:secret@93.184.215.14/hook", "user name or password"),
    ("https:///hook", "no host"),
    ("https://93.184.215.14:99999/hook", "not a valid URL"),
])
def test_bad_urls_are_refused_with_a_reason(url, message):
    org, _ = make_org()
    with tenant_context(org), pytest.raises(webhooks.WebhookUrlError, match=message):
        webhooks.create_endpoint(org, url, ["invoice.issued"])


def test_a_public_address_is_accepted_and_dev_mode_accepts_loopback(settings):
    org, _ = make_org()
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with tenant_context(org):
        endpoint = webhooks.create_endpoint(org, "https://93.184.215.14/hook", ["invoice.issued"])
        assert endpoint.secret.startswith("whsec_")
        settings.WEBHOOKS_ALLOW_PRIVATE = True
        webhooks.create_endpoint(org, "http://127.0.0.1:8000/hook", ["invoice.issued"])
        assert WebhookEndpoint.objects.count() == 2


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.7", "169.254.169.254"])
def test_a_name_that_resolves_privately_at_delivery_is_refused_then(address, settings, monkeypatch):
    """Registered while the name pointed at a public address; at delivery it points inside (DNS
    rebinding): the attempt is refused after resolving, nothing is sent, the refusal is logged."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    org, _ = make_org()
    with Receiver() as receiver:
        answers = {"hooks.customer.example": ["93.184.215.14"]}
        monkeypatch.setattr(webhooks, "resolve", lambda host, port: answers[host])
        endpoint_for(org, f"http://hooks.customer.example:{receiver.port}/hook", events=["customer.created"])
        answers["hooks.customer.example"] = [address]
        with tenant_context(org):
            CustomerFactory(organization=org)
            assert webhooks.deliver(org.pk).retrying == 1
            attempt = WebhookAttempt.objects.get()
        assert receiver.received() == []
    assert attempt.status_code is None and address in attempt.error and "non-public" in attempt.error


def test_an_endpoint_stored_with_a_loopback_url_is_refused_at_delivery_when_dev_mode_is_off(settings):
    org, _ = make_org()
    with Receiver() as receiver:
        settings.WEBHOOKS_ALLOW_PRIVATE = True
        endpoint_for(org, receiver.url, events=["customer.created"])
        settings.WEBHOOKS_ALLOW_PRIVATE = False
        with tenant_context(org):
            CustomerFactory(organization=org)
            assert webhooks.deliver(org.pk).retrying == 1
        assert receiver.received() == []


def test_a_claimed_delivery_is_not_claimed_twice_until_its_lease_runs_out(dev_mode, owner_sql):
    org, _ = make_org()
    endpoint_for(org, "http://127.0.0.1:9/x", events=["customer.created"])
    with tenant_context(org):
        CustomerFactory(organization=org)
        now = timezone.now()
        first = webhooks.claim(org.pk, now)
        assert len(first) == 1
        assert webhooks.claim(org.pk, now) == [], "held by its lease"
        with connection.cursor() as cursor:
            cursor.execute("UPDATE reminders_webhookdelivery SET lease_until = clock_timestamp() - interval '1 s'")
        second = webhooks.claim(org.pk, now)
        assert len(second) == 1 and second[0][1] != first[0][1]
        # The first sender's late outcome is dropped: the row belongs to the second claim now.
        assert webhooks._finish(first[0][0], first[0][1], now, 200, 5, "") is None
        assert WebhookDelivery.objects.get().attempts == 2


def test_tenancy_events_and_endpoints_stay_with_their_organization(dev_mode):
    org_a, owner_a = make_org()
    org_b, owner_b = make_org()
    with Receiver() as receiver:
        endpoint_a = endpoint_for(org_a, receiver.url)
        with tenant_context(org_b):
            CustomerFactory(organization=org_b)
            assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
            assert not webhooks.deliver(org_b.pk).any
        with tenant_context(org_a):
            assert not webhooks.deliver(org_a.pk).any
        assert receiver.received() == []
    client = Client()
    client.force_login(owner_b)
    detail = reverse("webhook_detail", kwargs={"org_slug": org_b.slug, "pk": endpoint_a.pk})
    assert client.get(detail).status_code == 404
    other_org = reverse("webhook_detail", kwargs={"org_slug": org_a.slug, "pk": endpoint_a.pk})
    assert client.get(other_org).status_code in (403, 404)


def test_the_owner_page_shows_the_secret_once_and_refuses_bad_urls(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    org, owner = make_org()
    client = Client()
    client.force_login(owner)
    url = reverse("webhook_list", kwargs={"org_slug": org.slug})
    refused = client.post(url, {"url": "http://169.254.169.254/latest/meta-data/", "events": ["invoice.paid"]})
    assert refused.status_code == 200 and "non-public address" in refused.content.decode()
    created = client.post(url, {"url": "https://93.184.215.14/hook", "events": ["invoice.paid"]})
    with tenant_context(org):
        endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in created.content.decode() and "no-store" in created["Cache-Control"]
    assert endpoint.secret not in client.get(url).content.decode(), "shown once"
    assert endpoint.events == ["invoice.paid"]
    finance = add_member(org, Role.FINANCE)
    client.force_login(finance)
    assert client.get(url).status_code == 403


def test_resend_by_hand_queues_the_same_event_as_a_new_delivery(dev_mode, django_capture_on_commit_callbacks):
    org, owner = make_org()
    with Receiver() as receiver:
        endpoint = endpoint_for(org, receiver.url, events=["customer.created"])
        with tenant_context(org):
            CustomerFactory(organization=org)
            webhooks.deliver(org.pk)
            first = WebhookDelivery.objects.get()
        client = Client()
        client.force_login(owner)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(reverse("webhook_resend", kwargs={
                "org_slug": org.slug, "pk": endpoint.pk, "delivery_pk": first.pk}))
        assert response.status_code == 302 and len(callbacks) == 1
        with tenant_context(org):
            again = WebhookDelivery.objects.exclude(pk=first.pk).get()
            assert again.event_id == first.event_id and again.body == first.body
            assert again.delivery_id != first.delivery_id and again.status == "pending"
            webhooks.deliver(org.pk)  # what the queued task does
        got = receiver.received()
        assert [r["headers"]["Ledgerline-Delivery"] for r in got] == [str(first.delivery_id), str(again.delivery_id)]
        assert got[0]["body"] == got[1]["body"]
        page = client.get(reverse("webhook_detail", kwargs={"org_slug": org.slug, "pk": endpoint.pk}))
        assert page.status_code == 200 and "HTTP 200" in page.content.decode()


def test_two_failures_past_the_limit_in_one_batch_disable_once_and_email_once(
        dev_mode, smtp_server, django_capture_on_commit_callbacks):
    """Both deliveries are claimed before either fails; only the transition to disabled e-mails."""
    dev_mode.WEBHOOKS_DISABLE_AFTER = 1
    org, owner = make_org()
    with Receiver(status=503) as receiver:
        endpoint_for(org, receiver.url, events=["customer.created"])
        with tenant_context(org):
            CustomerFactory(organization=org)
            CustomerFactory(organization=org)
            with django_capture_on_commit_callbacks(execute=True):
                assert webhooks.deliver(org.pk).retrying == 2
            assert WebhookEndpoint.objects.get().consecutive_failures == 2
        assert len(receiver.received()) == 2
    smtp_server.wait_for(2, timeout=1.5)
    assert len(smtp_server.messages) == 1


def test_the_connection_goes_to_the_address_that_was_checked(dev_mode, monkeypatch):
    """The sender connects to the vetted address with the name only in Host (and TLS SNI): a second
    lookup, which a DNS answer could change, never happens. (The name does not resolve at all
    outside the played answer, so connecting by name would fail.)"""
    org, _ = make_org()
    calls = []

    def answer(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(webhooks, "resolve", answer)
    with Receiver() as receiver:
        endpoint_for(org, f"http://hooks.customer.invalid:{receiver.port}/in", events=["customer.created"])
        calls.clear()
        with tenant_context(org):
            CustomerFactory(organization=org)
            assert webhooks.deliver(org.pk).delivered == 1
        got = receiver.received()
    assert calls == ["hooks.customer.invalid"], "one lookup per attempt"
    assert got[0]["headers"]["Host"] == f"hooks.customer.invalid:{receiver.port}" and got[0]["path"] == "/in"


@settings_hypothesis(max_examples=300, deadline=None)
@given(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
                        "224.0.0.0/4", "100.64.0.0/10", "0.0.0.0/8"]), st.integers(min_value=0))
def test_every_address_of_the_internal_ranges_is_forbidden_also_as_ipv4_mapped_ipv6(network, n):
    net = ipaddress.ip_network(network)
    address = net[n % net.num_addresses]
    assert webhooks.forbidden_address(str(address))
    assert webhooks.forbidden_address(f"::ffff:{address}")


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert not webhooks.forbidden_address(address)


def test_the_minute_schedule_delivers_every_organizations_due_deliveries(dev_mode, owner_sql):
    from reminders.tasks import deliver_webhooks

    # The schedule is the worker's table: read as the owner (the application role cannot).
    schedule = owner_sql.execute("SELECT func, minutes FROM django_q_schedule WHERE name = 'webhooks: deliver'")
    assert schedule.fetchone() == ("reminders.tasks.deliver_webhooks", 1)
    (org_a, _), (org_b, _) = make_org(), make_org()
    with Receiver() as receiver:
        for org in (org_a, org_b):
            endpoint_for(org, receiver.url, events=["customer.created"])
            with tenant_context(org):
                CustomerFactory(organization=org)
        result = deliver_webhooks()
        assert {json.loads(r["body"])["organization"] for r in receiver.received()} == {org_a.pk, org_b.pk}
    assert result[org_a.pk]["delivered"] == result[org_b.pk]["delivered"] == 1


def test_a_rotated_secret_signs_beside_the_new_one_until_its_overlap_ends(dev_mode):
    org, owner = make_org()
    with Receiver() as receiver:
        endpoint = endpoint_for(org, receiver.url)
        old = endpoint.secret
        with tenant_context(org):
            new = webhooks.rotate_secret(endpoint)
            CustomerFactory(organization=org)
            webhooks.deliver(org.pk)
            # Past the overlap only the new secret signs.
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                previous_secret_until=timezone.now() - timedelta(seconds=1))
            CustomerFactory(organization=org)
            webhooks.deliver(org.pk)
        first, second = receiver.received()
    assert new != old and new.startswith("whsec_")
    assert first["headers"]["Ledgerline-Signature"].count("v1=") == 2
    assert verify_signature(new, first["headers"]["Ledgerline-Signature"], first["body"])
    assert verify_signature(old, first["headers"]["Ledgerline-Signature"], first["body"])
    assert second["headers"]["Ledgerline-Signature"].count("v1=") == 1
    assert verify_signature(new, second["headers"]["Ledgerline-Signature"], second["body"])
    assert not verify_signature(old, second["headers"]["Ledgerline-Signature"], second["body"])


def test_the_owner_rotates_the_secret_on_the_page_and_sees_it_once(settings):
    org, owner = make_org()
    endpoint = endpoint_for(org, "https://93.184.215.14/hooks")
    finance = add_member(org, role=Role.FINANCE)
    client = Client()
    client.force_login(finance)
    url = reverse("webhook_rotate", args=[org.slug, endpoint.pk])
    assert client.post(url).status_code == 403
    client.force_login(owner)
    response = client.post(url)
    with tenant_context(org):
        endpoint.refresh_from_db()
    page = response.content.decode()
    assert response.status_code == 200 and endpoint.secret in page and "shown only this once" in page
    assert endpoint.previous_secret and endpoint.previous_secret not in page
    assert endpoint.secret not in client.get(reverse("webhook_detail", args=[org.slug, endpoint.pk])).content.decode()
