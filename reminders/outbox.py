"""The sender: claims outbox rows, sends them, marks them sent (or retries with backoff).

Life of a row: the scan (or a "send reminder" click) writes it as *pending*. `deliver()`
claims a batch in a short transaction (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED)`: pending → *sending*, attempts + 1, a lease of LEASE and a fresh claim token), commits,
and only then talks to the mail server, outside any transaction or lock. After the server
accepted the message a second transaction marks the row *sent* (only if our claim token is still
on it) and, if the step carries one, posts the late fee in that same transaction.

Crashes:
* killed after the row was written, before any claim: the row is pending; the next delivery
  (queued by every scan that finds claimable rows) sends it once.
* killed after the claim, before or during the SMTP conversation: the row is *sending* with a
  lease; once the lease has run out it is claimable again and is sent once.
* the mail server refuses or is down: the row goes back to pending with `next_attempt_at` moved
  out by BACKOFF and the error in `last_error` (shown in the log); after MAX_ATTEMPTS it is
  *failed*.

At-most-once or at-least-once? Over SMTP exactly-once cannot be had: the server's "250 OK"
and our COMMIT are two events, and a crash between them leaves us not knowing whether the
message went. We choose **at-least-once**: a message is marked sent only after the server
accepted it, so a reminder is never silently lost; the price is that a crash in that window
(milliseconds) sends it a second time when the lease expires. The retry carries the *same*
Message-ID (one per outbox row, fixed at the first attempt, as are subject and body), so a mail
server or client can recognise and drop the duplicate, and so can we when reading bounces. The
alternative, marking sent before talking to the server, would turn that rare duplicate into a
rare lost reminder (and a late fee charged without its notice), which is worse here.
"""

import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings as django_settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.locale import format_day
from accounts.money import format_money
from invoicing import hooks
from invoicing.models import Invoice
from invoicing.services import record_event
from ledger_site.tenancy import tenant_context
from reminders import integration, plans
from reminders.holds import active_holds, not_open_reason
from reminders.late_fees import charge_late_fee, currency_mismatch, step_fee
from reminders.models import FeeType, OutboxKind, OutboxStatus, ReminderMessage, ReminderSettings, ReminderStep
from reminders.policy import render
from reminders.scheduler import local_today

log = logging.getLogger("reminders.outbox")
# Leases are in database time (clock_timestamp()), never a worker's clock, and short: each message
# renews its row's lease just before it talks to the mail server (a heartbeat), so a live sender
# never loses a row it is sending, while a dead sender's rows are claimable LEASE after its last
# heartbeat. The recovery schedule (reminders.tasks.recover_outbox, every minute) queues delivery
# for them. EMAIL_TIMEOUT stays below LEASE, so one SMTP conversation cannot outlive its lease.
LEASE = timedelta(seconds=20)
BACKOFF = [timedelta(minutes=m) for m in (1, 5, 15, 60, 240, 720)]  # after attempt 1, 2, ...
MAX_ATTEMPTS = len(BACKOFF) + 1
BATCH = 50

_CLAIM = """
UPDATE reminders_remindermessage m
SET status = 'sending', attempts = m.attempts + 1, lease_until = clock_timestamp() + %(lease)s,
    claim_token = %(token)s
WHERE m.id IN (
    SELECT id FROM reminders_remindermessage
    WHERE organization_id = %(org)s AND status IN ('pending', 'sending')
      AND ((status = 'pending' AND next_attempt_at <= %(now)s)
           OR (status = 'sending' AND lease_until < clock_timestamp()))
      {only}
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING m.id
"""


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0

    def __iadd__(self, other):
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.cancelled += other.cancelled
        return self


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def deliver(org_id: int, now: datetime | None = None, ids=None, max_batches: int | None = None,
            mail_connection=None) -> DeliveryReport:
    """Send every claimable row of the organization (or just `ids`). Safe to run many at once:
    each row is claimed by exactly one of them."""
    report = DeliveryReport()
    batches = 0
    # One mail connection for the whole run (not one per message); after a failure it is closed
    # and the next message opens a new one.
    conn = mail_connection or get_connection()
    try:
        with tenant_context(org_id):
            while max_batches is None or batches < max_batches:
                clock = now or timezone.now()
                claimed = claim(org_id, clock, ids=ids)
                if not claimed:
                    break
                batches += 1
                for row_id, token in claimed:
                    report += send_one(row_id, token, now=clock, mail_connection=conn)
    finally:
        if mail_connection is None:
            _close_quietly(conn)
    return report


def _close_quietly(conn) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail; nothing to do then
        conn.close()


def claim(org_id: int, now: datetime, ids=None, limit: int = BATCH) -> list[tuple[int, str]]:
    token = uuid.uuid4().hex
    only = "AND id = ANY(%(ids)s)" if ids is not None else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM.format(only=only), {"org": org_id, "now": now, "lease": LEASE, "token": token,
                                                  "limit": limit, "ids": list(ids or [])})
        return [(row[0], token) for row in cursor.fetchall()]


def send_one(row_id: int, token: str, now: datetime, mail_connection=None) -> DeliveryReport:
    report = DeliveryReport()
    prepared = _prepare(row_id, token, now)
    if prepared is None:  # cancelled, undeliverable or no longer ours: _prepare recorded why
        row = ReminderMessage.objects.only("status").get(pk=row_id)
        report.cancelled += row.status == OutboxStatus.CANCELLED
        report.failed += row.status == OutboxStatus.FAILED
        return report
    row, message = prepared
    try:
        message.connection = mail_connection or get_connection()
        message.send(fail_silently=False)
    except Exception as e:  # noqa: BLE001 - any failure to hand over the message is retried
        _close_quietly(message.connection)
        log.warning("reminder %s: sending failed (attempt %s): %s", row_id, row.attempts, e)
        if _retry_later(row_id, token, now, e) == OutboxStatus.FAILED:
            report.failed += 1
        else:
            report.retrying += 1
        return report
    if _mark_sent(row_id, token, now):
        report.sent += 1
    return report


def _prepare(row_id: int, token: str, now: datetime):
    """Re-check the row under lock, render the message once, return (row, EmailMessage) or None."""
    with transaction.atomic():
        row = (ReminderMessage.objects.select_for_update(of=("self",))
               .select_related("invoice__customer", "invoice__organization", "customer", "step").get(pk=row_id))
        if row.status != OutboxStatus.SENDING or row.claim_token != token:
            return None
        _heartbeat(row_id)
        invoice, customer = row.invoice, row.customer
        settings = ReminderSettings.objects.get(organization_id=row.organization_id)
        today = local_today(now, settings)
        reason = not_open_reason(invoice) if row.kind != OutboxKind.INSTALMENT else plans.why_not_send(row, today)
        if reason is None and row.kind == OutboxKind.SCHEDULED:
            holds = active_holds(invoice, today, settings)
            reason = holds[0] if holds else None
        if reason is not None:
            row.status, row.result, row.lease_until = OutboxStatus.CANCELLED, _("Not sent: %s") % reason, None
            row.save(update_fields=["status", "result", "lease_until"])
            return None
        emails = customer.email_list
        if not emails:
            row.status, row.lease_until = OutboxStatus.FAILED, None
            row.result = row.last_error = _("Cannot send: the customer has no billing e-mail address.")
            row.save(update_fields=["status", "result", "last_error", "lease_until"])
            return None
        if not row.message_id:  # first attempt: fix the message, later attempts send the very same one
            step = row.step
            chased = chased_amount(invoice, today)  # a partial dispute's part is not chased
            if row.kind == OutboxKind.SCHEDULED and step is not None and step.fee_type != FeeType.NONE:
                row.late_fee = step_fee(step, invoice.organization, invoice.currency, chased, today)[0] or None
            row.amount_due = chased
            row.subject, row.body = (render_message(invoice, step, today, row.late_fee)
                                     if row.kind != OutboxKind.INSTALMENT else plans.render_reminder(row, today))
            row.to_emails = ", ".join(emails)
            row.message_id = f"<reminder-{row.pk}.{row.organization_id}@{_mail_domain()}>"
            row.save(update_fields=["late_fee", "amount_due", "subject", "body", "to_emails", "message_id"])
    message = EmailMessage(subject=row.subject, body=row.body, to=row.to_emails.split(", "),
                           from_email=sender(invoice.organization), reply_to=reply_to(settings),
                           headers={"Message-ID": row.message_id, "X-Ledgerline-Reminder": str(row.pk)})
    if row.step is not None and row.step.attach_pdf:
        pdf = integration.invoice_pdf(invoice)
        if pdf is not None:
            message.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
    return row, message


def _heartbeat(row_id: int) -> None:
    """Renew the claimed row's lease from now (database time): the send that follows has LEASE."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reminders_remindermessage SET lease_until = clock_timestamp() + %s WHERE id = %s",
                       [LEASE, row_id])


def render_message(invoice: Invoice, step: ReminderStep | None, today, late_fee=None) -> tuple[str, str]:
    """Subject and body of the step's templates for this invoice, as of `today` (local)."""
    if step is None:
        raise ValueError("a reminder needs a step to take its template from")
    values = placeholder_values(invoice, today, late_fee)
    # A subject that was all about the fee is left out by render(); a message still needs one.
    subject = render(step.subject, values) or _("Reminder: invoice %(number)s") % {"number": invoice.number}
    return subject, render(step.body, values)


def due_when(due_date, today, shown: str) -> str:
    """What is true on the day the message goes out: a step caught up after a pause says "was due
    on 4 December", never "is due today"."""
    if today < due_date:
        return _("is due on %(date)s") % {"date": shown}
    if today == due_date:
        return _("is due today")
    return _("was due on %(date)s") % {"date": shown}


def chased_amount(invoice: Invoice, today):
    """What a reminder asks for: the amount due less the part in dispute (invoicing's rule)."""
    return invoice.amount_due - invoice.disputed_part_on(today)


def placeholder_values(invoice: Invoice, today, late_fee=None) -> dict[str, str]:
    due = format_day(invoice.due_date, invoice.organization.locale)  # one date display (issue 21)
    return {
        "customer": invoice.customer.name,
        "invoice_number": invoice.number or "",
        "amount_due": format_money(chased_amount(invoice, today), invoice.currency),
        "due_date": due,
        "due_when": due_when(invoice.due_date, today, due),
        "days_overdue": str(max(0, (today - invoice.due_date).days)),
        "link": integration.public_link(invoice) or "",
        "organization": invoice.organization.name,
        "late_fee": format_money(late_fee, invoice.currency) if late_fee else "",
    }


def _retry_later(row_id: int, token: str, now: datetime, error: Exception) -> str | None:
    with transaction.atomic():
        row = ReminderMessage.objects.select_for_update().get(pk=row_id)
        if row.status != OutboxStatus.SENDING or row.claim_token != token:
            return None
        row.last_error = f"{type(error).__name__}: {error}"[:500]
        row.lease_until = None
        if row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.FAILED
            row.result = _("Gave up after %(n)s attempts.") % {"n": row.attempts}
        else:
            row.status = OutboxStatus.PENDING
            row.next_attempt_at = now + backoff(row.attempts)
            row.result = _("Attempt %(n)s failed; retrying at %(at)s.") % {
                "n": row.attempts, "at": timezone.localtime(row.next_attempt_at).strftime("%Y-%m-%d %H:%M %Z")}
        row.save(update_fields=["last_error", "lease_until", "status", "next_attempt_at", "result"])
        return row.status


def _mark_sent(row_id: int, token: str, now: datetime) -> bool:
    with transaction.atomic():
        row = (ReminderMessage.objects.select_for_update(of=("self",))
               .select_related("invoice__organization", "step").get(pk=row_id))
        if row.status != OutboxStatus.SENDING or row.claim_token != token:
            return False  # our lease ran out and another sender took over; it will record the outcome
        row.status, row.sent_at, row.lease_until = OutboxStatus.SENT, now, None
        row.result = _("Accepted by the mail server for %(to)s.") % {"to": row.to_emails}
        fields = ["status", "sent_at", "lease_until", "result"]
        if row.late_fee and row.kind == OutboxKind.SCHEDULED:
            settings = ReminderSettings.objects.get(organization_id=row.organization_id)
            try:
                with transaction.atomic():
                    charge = charge_late_fee(row.invoice, row.offset_days, row.late_fee, local_today(now, settings))
                row.late_fee_invoice = charge.fee_invoice
                fields.append("late_fee_invoice")
            except Exception as e:  # noqa: BLE001 - the message went; say plainly that the fee did not
                log.exception("reminder %s: late fee not posted", row_id)
                row.result += " " + _("Late fee not posted: %s") % e
        skipped = _fee_skipped(row, now)
        if skipped:
            row.result = (row.result + " " + skipped)[:500]
        row.save(update_fields=fields)
        hooks.emit(row.organization_id, "reminder.sent", {
            "id": row.pk, "invoice": {"id": row.invoice_id, "number": row.invoice.number},
            "customer": {"id": row.customer_id}, "kind": row.kind, "tone": row.tone,
            "to": row.to_emails, "sent_at": now.isoformat(), "message_id": row.message_id})
        what = (_("Reminder (day %(point)s, %(tone)s) sent to %(to)s") if row.kind == OutboxKind.SCHEDULED
                else _("Reminder sent by hand (%(tone)s template) to %(to)s") if row.kind == OutboxKind.MANUAL
                else _("Payment plan instalment reminder sent to %(to)s"))
        message = what % {"point": row.point_label, "tone": row.get_tone_display().lower(), "to": row.to_emails}
        if row.late_fee_invoice_id:
            message += "; " + _("late fee %(fee)s charged") % {"fee": format_money(row.late_fee, row.invoice.currency)}
        elif skipped:
            message += ". " + skipped
        record_event(row.invoice, "reminder", message, actor=row.created_by, at=now)
        integration.log_delivery(row)
    return True


def _fee_skipped(row: ReminderMessage, now: datetime) -> str | None:
    """Why the step's fee was not charged with this reminder (the invoice's currency had no rate)."""
    step = row.step
    if row.kind != OutboxKind.SCHEDULED or step is None or row.late_fee:
        return None
    day = local_today(now, ReminderSettings.objects.get(organization_id=row.organization_id))
    return currency_mismatch(step, row.invoice.organization, row.invoice.currency, day)


def sender(org) -> str:
    """From: the organization's name on the service's sending address (the address must be ours for
    delivery; the name is whom the customer knows)."""
    address = parseaddr(django_settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@localhost"
    return formataddr((org.name, address))


def reply_to(settings: ReminderSettings) -> list[str]:
    """The organization's reply address, once verified; none before (never an unverified one)."""
    return [settings.reply_to] if settings.reply_to and settings.reply_to_verified_at else []


def _mail_domain() -> str:
    address = parseaddr(django_settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "ledgerline.local"


# --- Sending by hand ------------------------------------------------------------------------

@transaction.atomic
def queue_manual(invoice: Invoice, step: ReminderStep, actor, idempotency_key: str,
                 now: datetime | None = None) -> tuple[ReminderMessage, bool]:
    """A "send reminder" click: one outbox row per rendered form (idempotency key), so a double
    click or a resubmitted form sends once. Returns (row, created). The caller sends it after
    commit (deliver(ids=[row.pk]))."""
    now = now or timezone.now()
    # Lock the invoice first: a second submit of the same form waits here, then finds the row.
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    existing = ReminderMessage.objects.filter(organization_id=invoice.organization_id,
                                              idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    if not_open_reason(invoice):
        raise ValueError(_("Not sent: %s.") % not_open_reason(invoice))
    row = ReminderMessage.objects.create(
        organization_id=invoice.organization_id, invoice=invoice, customer_id=invoice.customer_id,
        kind=OutboxKind.MANUAL, step=step, tone=step.tone, due_at=now, created_at=now, next_attempt_at=now,
        idempotency_key=idempotency_key, created_by=actor)
    return row, True
