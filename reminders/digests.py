"""Daily e-mail digests of staff notifications (issue 19 #8).

A user who subscribes (`DigestSubscription`, per organization, from the worklist page) gets at
most one e-mail a day listing the notifications they have not read and no earlier digest told
them about. The hourly schedule "notifications: e-mail digests" (reminders.tasks.send_digests):

1. **queue**: from `DIGEST_HOUR` in the organization's time zone, a subscriber with such
   notifications gets that day's `NotificationDigest` row and its e-mail's pending row in
   invoicing's one outbox table (invoicing.outgoing.queue_scheduled, kind "digest"), and the
   notifications are attached to it in the same transaction, each to one digest only
   (`digest IS NULL` under the row locks).
   A notification that arrives after the day's digest went out waits for the next day's.
2. **deliver**: the one sending loop of every outbox (ledger_site.mailer.send_claimed) on
   the claim-lease-backoff engine (ledger_site.outbox, `DIGEST_OUTBOX`, over the e-mail rows): under
   lock, what is still
   unread is listed (read in the meantime: left out; nothing left: cancelled), the message is
   fixed at the first attempt so that a retry carries the same Message-ID, sent outside any
   transaction, and marked sent only if the claim is still ours.
"""

from datetime import datetime

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Organization, User
from invoicing.models_documents import DeliveryKind, EmailDelivery
from invoicing.outgoing import queue_scheduled
from ledger_site import mailer
from ledger_site import outbox as engine
from reminders.models import DIGEST_OUTBOX, OutboxStatus
from reminders.models_collections import DigestSubscription, Notification, NotificationDigest
from reminders.outbox import DeliveryReport, mail_domain, retry_later, send_prepared, sender

DIGEST_HOUR = 7  # local hour from which a day's digest is put together


def subscribed(org, user) -> bool:
    return DigestSubscription.objects.filter(organization=org, user=user).exists()


def set_subscribed(org, user, on: bool) -> None:
    if on:
        DigestSubscription.objects.get_or_create(organization=org, user=user)
    else:
        DigestSubscription.objects.filter(organization=org, user=user).delete()


def _waiting(org_id: int, user_id: int):
    return Notification.objects.filter(organization_id=org_id, user_id=user_id, read_at__isnull=True,
                                       digest__isnull=True)


def queue(org: Organization, now: datetime | None = None) -> int:
    """Put together today's digest for every subscriber with unread notifications no digest has
    listed yet (the caller is in the organization's tenant context). Returns how many were made."""
    now = now or timezone.now()
    if timezone.localtime(now, org.zone).hour < DIGEST_HOUR:
        return 0
    day = org.today(now)
    made = 0
    for user_id in DigestSubscription.objects.filter(organization=org).values_list("user_id", flat=True):
        if not _waiting(org.pk, user_id).exists():
            continue
        with transaction.atomic():
            try:
                with transaction.atomic():
                    email = queue_scheduled(org.pk, DeliveryKind.DIGEST, due_at=now,
                                            max_attempts=DIGEST_OUTBOX.max_attempts)
                    digest = NotificationDigest.objects.create(organization=org, user_id=user_id, day=day,
                                                               email=email)
                    made += 1
            except IntegrityError:  # today's exists (made by a concurrent run, or sent already)
                digest = NotificationDigest.objects.select_for_update().get(organization=org, user_id=user_id,
                                                                            day=day)
                if digest.status != OutboxStatus.PENDING or digest.message_id:
                    continue  # on its way or sent: what arrived since waits for tomorrow's
            _waiting(org.pk, user_id).update(digest=digest)
    return made


def deliver(org_id: int, now: datetime | None = None, max_batches: int | None = None,
            mail_connection=None) -> DeliveryReport:
    """Send the organization's due digests; the engine claims their e-mail rows (ids of EmailDelivery)."""
    report = DeliveryReport()
    for outcome in engine.run(DIGEST_OUTBOX, org_id, lambda email_id, token, clock: send_prepared(
            EmailDelivery, email_id, token, clock, _prepare, _retry_later, _mark_sent, mail_connection),
            now=now, max_batches=max_batches):
        report += outcome
    return report


def _prepare(email_id: int, token: str, now: datetime):
    with transaction.atomic():
        email = engine.lock_if_ours(EmailDelivery.objects.all(), DIGEST_OUTBOX, email_id, token)
        if email is None:
            return None
        engine.heartbeat(DIGEST_OUTBOX, email_id)
        digest = NotificationDigest.objects.select_related("organization").get(email_id=email_id)
        items = list(digest.notifications.filter(read_at__isnull=True).order_by("created_at", "pk"))
        if not items:
            email.status, email.lease_until = OutboxStatus.CANCELLED, None
            email.result = _("Not sent: every notification in it was read first.")
            email.save(update_fields=["status", "lease_until", "result"])
            return None
        if not email.message_id:  # fixed at the first attempt: a retry is the very same e-mail
            _render(digest, email, items)
    message = mailer.compose(subject=email.subject, body=email.body, to=email.recipients,
                             from_email=sender(digest.organization), headers={"Message-ID": email.message_id})
    return email, message


def _render(digest: NotificationDigest, email: EmailDelivery, items: list[Notification]) -> None:
    org = digest.organization
    base = django_settings.PUBLIC_BASE_URL
    # Links as the bell's (paths in the product), made absolute for an e-mail.
    lines = [f"- {n.text}" + (f"\n  {base}{n.url}" if n.url else "") for n in items]
    email.recipients = [User.objects.values_list("email", flat=True).get(pk=digest.user_id)]
    email.subject = ngettext("%(org)s: %(n)s notification for you", "%(org)s: %(n)s notifications for you",
                             len(items)) % {"org": org.name, "n": len(items)}
    email.body = "\n".join([
        _("Your unread notifications in %(org)s on %(day)s:") % {"org": org.name, "day": digest.day.isoformat()},
        "", *lines, "",
        _("You get this e-mail once a day because you asked for it on the worklist page; turn it off there."),
    ])
    email.message_id = f"<notification-digest-{digest.pk}.{digest.organization_id}@{mail_domain()}>"
    email.save(update_fields=["recipients", "subject", "body", "message_id"])


def _retry_later(email_id: int, token: str, now: datetime, error: Exception):
    return retry_later(EmailDelivery.objects.all(), DIGEST_OUTBOX, email_id, token, now, error)


def _mark_sent(email_id: int, token: str, now: datetime) -> bool:
    with transaction.atomic():
        email = engine.lock_if_ours(EmailDelivery.objects.all(), DIGEST_OUTBOX, email_id, token)
        if email is None:
            return False
        email.status, email.sent_at, email.lease_until = OutboxStatus.SENT, now, None
        email.result = _("Accepted by the mail server for %(to)s.") % {"to": email.recipient_list}
        email.save(update_fields=["status", "sent_at", "lease_until", "result"])
    return True
