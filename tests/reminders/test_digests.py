"""Daily e-mail digests of staff notifications (issue 19 #8, reminders/digests.py): through a real
SMTP server (aiosmtpd), on the reminder outboxes' claim-lease-backoff engine."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from ledger_site.tenancy import tenant_context
from reminders import digests
from reminders.models import OutboxStatus
from reminders.models_collections import DigestSubscription, Notification, NotificationDigest
from reminders.notifications import notify
from tests.factories import add_member, make_org
from tests.reminders.helpers import TODAY, at
from tests.smtp import SmtpServer, free_port, smtp_server_fixture, use_smtp

pytestmark = pytest.mark.django_db
smtp_server = pytest.fixture(smtp_server_fixture)
MORNING = at(TODAY + timedelta(days=1), 9)  # the default organization is on UTC


def subscribed_org():
    org, owner = make_org()
    with tenant_context(org):
        digests.set_subscribed(org, owner, True)
    return org, owner


def tell(org, user, *texts):
    with tenant_context(org):
        for n, text in enumerate(texts):
            notify(org.pk, [user.pk], "test", text, url=f"/o/{org.slug}/reminders/disputes/{n}/", key=f"k-{text}")


def run(org, now):
    with tenant_context(org):
        made = digests.queue(org, now)
        return made, digests.deliver(org.pk, now)


def test_a_subscriber_gets_one_email_listing_every_unread_notification_and_a_second_run_sends_nothing(smtp_server):
    org, owner = subscribed_org()
    tell(org, owner, "Dispute on INV-1", "Promise broken by Acme", "Delivery to x@example.com bounced")
    made, report = run(org, MORNING)
    assert made == 1 and report.sent == 1
    [message] = smtp_server.messages
    assert message["To"] == owner.email and org.name in message["From"]
    assert "3 notifications" in message["Subject"]
    body = message.get_content()
    for text in ("Dispute on INV-1", "Promise broken by Acme", "Delivery to x@example.com bounced"):
        assert text in body
    assert f"/o/{org.slug}/reminders/disputes/0/" in body
    assert run(org, MORNING + timedelta(hours=1)) == (0, digests.DeliveryReport())
    assert len(smtp_server.messages) == 1


def test_a_notification_is_in_one_digest_only_and_what_arrives_later_waits_for_the_next_day(smtp_server):
    org, owner = subscribed_org()
    tell(org, owner, "First")
    run(org, MORNING)
    tell(org, owner, "Second")
    assert run(org, MORNING + timedelta(hours=3))[1].sent == 0  # today's went out already
    made, report = run(org, MORNING + timedelta(days=1))
    assert made == 1 and report.sent == 1
    second = smtp_server.messages[1].get_content()
    assert "Second" in second and "First" not in second  # First is still unread, but was told


def test_nothing_before_the_digest_hour_nothing_for_others_and_nothing_read(smtp_server):
    org, owner = subscribed_org()
    clerk = add_member(org, Role.FINANCE)  # not subscribed
    tell(org, owner, "Read already")
    tell(org, clerk, "For the clerk")
    assert run(org, at(MORNING.date(), digests.DIGEST_HOUR - 1))[0] == 0
    with tenant_context(org):
        Notification.objects.filter(user=owner).update(read_at=MORNING)
    assert run(org, MORNING) == (0, digests.DeliveryReport())
    assert smtp_server.messages == []


def test_notifications_read_before_the_send_are_left_out_and_none_left_cancels(smtp_server):
    org, owner = subscribed_org()
    tell(org, owner, "One", "Two")
    with tenant_context(org):
        assert digests.queue(org, MORNING) == 1
        Notification.objects.filter(user=owner, text="One").update(read_at=MORNING)
        digests.deliver(org.pk, MORNING)
    body = smtp_server.messages[0].get_content()
    assert "Two" in body and "- One" not in body and "1 notification for you" in smtp_server.messages[0]["Subject"]
    tell(org, owner, "Three")
    with tenant_context(org):
        assert digests.queue(org, MORNING + timedelta(days=1)) == 1
        Notification.objects.filter(user=owner).update(read_at=MORNING + timedelta(days=1))
        report = digests.deliver(org.pk, MORNING + timedelta(days=1))
        assert report.cancelled == 1
        assert NotificationDigest.objects.get(day=MORNING.date() + timedelta(days=1)).status == OutboxStatus.CANCELLED
    assert len(smtp_server.messages) == 1


def test_a_digest_never_lists_another_organizations_notifications(smtp_server):
    org, owner = subscribed_org()
    other, _ = make_org(owner=owner)  # the same person in a second organization, not subscribed there
    tell(org, owner, "Mine here")
    tell(other, owner, "Theirs elsewhere")
    run(org, MORNING)
    run(other, MORNING)
    [message] = smtp_server.messages
    assert "Mine here" in message.get_content() and "Theirs elsewhere" not in message.get_content()


def test_a_mail_server_that_is_down_is_retried_with_the_same_message_id(settings):
    org, owner = subscribed_org()
    tell(org, owner, "Retry me")
    port = free_port()
    use_smtp(settings, port)
    made, report = run(org, MORNING)
    assert made == 1 and report.retrying == 1
    with tenant_context(org):
        digest = NotificationDigest.objects.get()
    assert digest.status == OutboxStatus.PENDING and digest.next_attempt_at > MORNING
    server = SmtpServer(port=port).start()
    try:
        assert run(org, digest.next_attempt_at)[1].sent == 1
        assert server.messages[0]["Message-ID"] == digest.message_id
    finally:
        server.stop()


def test_the_worklist_turns_the_digest_on_and_off():
    org, owner = make_org()
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("worklist", kwargs={"org_slug": org.slug})).content.decode()
    assert "E-mail me a daily digest" in page
    url = reverse("notification_digest", kwargs={"org_slug": org.slug})
    client.post(url, {"on": "1"})
    with tenant_context(org):
        assert DigestSubscription.objects.filter(organization=org, user=owner).exists()
    assert "Stop the daily e-mail" in client.get(reverse("worklist", kwargs={"org_slug": org.slug})).content.decode()
    client.post(url, {"on": "0"})
    with tenant_context(org):
        assert not DigestSubscription.objects.filter(organization=org, user=owner).exists()


def test_the_demo_owner_gets_the_daily_digest():
    from reminders.demo import seed_demo_digest

    org, owner = make_org()
    with tenant_context(org):
        assert seed_demo_digest(org, owner) == {"notification_digests": 1}
        assert digests.subscribed(org, owner)


def test_the_hourly_task_sends_every_organizations_digests_each_in_its_own_context(smtp_server, monkeypatch):
    """The schedule's function walks every organization (by id, outside any context: the
    organizations table is behind row-level security) and sends what is due."""
    from django.utils import timezone

    from reminders.tasks import send_digests

    org, owner = subscribed_org()
    other, other_owner = subscribed_org()
    tell(org, owner, "For the first")
    tell(other, other_owner, "For the second")
    monkeypatch.setattr(timezone, "now", lambda: MORNING)
    done = send_digests()
    assert done[org.pk]["sent"] == 1 and done[other.pk]["sent"] == 1
    by_recipient = {m["To"]: m.get_content() for m in smtp_server.messages}
    assert "For the first" in by_recipient[owner.email] and "For the second" not in by_recipient[owner.email]
    assert "For the second" in by_recipient[other_owner.email]
