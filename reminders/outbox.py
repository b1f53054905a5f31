"""The sender: claims outbox rows, sends them, marks them sent (or retries with backoff).

The claim is the one engine's (ledger_site.outbox) and the sending loop the one send path's
(ledger_site.mailer.send_claimed); this module says what a reminder row means to them.

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

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.locale import (
    catalog_language,
    document_language,
    format_day,
    in_language,
    organization_language,
    reader_date_locale,
)
from accounts.money import format_money
from invoicing import hooks
from invoicing.models import Invoice
from invoicing.services import record_event
from ledger_site import mailer
from ledger_site import outbox as engine
from ledger_site.tenancy import tenant_context
from reminders import integration, plans
from reminders.holds import active_holds, not_open_reason
from reminders.late_fees import charge_late_fee, currency_mismatch, step_fee
from reminders.models import OUTBOX, FeeType, OutboxKind, OutboxStatus, ReminderMessage, ReminderSettings, ReminderStep
from reminders.policy import render, step_text
from reminders.scheduler import local_today

log = logging.getLogger("reminders.outbox")
# Leases are in database time (clock_timestamp()), never a worker's clock, and short: each message
# renews its row's lease just before it talks to the mail server (a heartbeat), so a live sender
# never loses a row it is sending, while a dead sender's rows are claimable LEASE after its last
# heartbeat. The recovery schedule (reminders.tasks.recover_outbox, every minute) queues delivery
# for them. EMAIL_TIMEOUT stays below LEASE, so one SMTP conversation cannot outlive its lease.
# Claiming, leases and backoff are the one engine's (ledger_site.outbox); this is its data.
BOX = OUTBOX  # rows of a consolidated e-mail are left to it (reminders.batches)
LEASE = BOX.lease
BACKOFF = list(BOX.backoff)
MAX_ATTEMPTS = BOX.max_attempts
BATCH = BOX.batch


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


def deliver(org_id: int, now: datetime | None = None, ids=None, max_batches: int | None = None,
            mail_connection=None) -> DeliveryReport:
    """Send every claimable row of the organization (or just `ids`), then every due consolidated
    e-mail (reminders.batches). Safe to run many at once: each row is claimed by exactly one of them."""
    report = DeliveryReport()
    # One mail connection for the whole run (not one per message); after a failure it is closed
    # and the next message opens a new one.
    conn = mail_connection or mailer.open_connection()
    try:
        with tenant_context(org_id):
            for outcome in engine.run(BOX, org_id, lambda row_id, token, clock: send_one(
                    row_id, token, now=clock, mail_connection=conn), now=now, ids=ids, max_batches=max_batches):
                report += outcome
            if ids is None:  # `ids` are rows sent by hand; a run over the organization sends its batches too
                report += batches.deliver(org_id, now=now, max_batches=max_batches, mail_connection=conn)
    finally:
        if mail_connection is None:
            mailer.close_quietly(conn)
    return report


def claim(org_id: int, now: datetime, ids=None, limit: int = BATCH) -> list[tuple[int, str]]:
    return engine.claim(BOX, org_id, now, ids=ids, limit=limit)


def send_one(row_id: int, token: str, now: datetime, mail_connection=None) -> DeliveryReport:
    return send_prepared(ReminderMessage, row_id, token, now, _prepare, _retry_later, _mark_sent, mail_connection)


def send_prepared(model, row_id: int, token: str, now: datetime, prepare, retry_later, mark_sent,
                  mail_connection=None) -> DeliveryReport:
    """A claimed reminder row (per-invoice, consolidated or a digest) through the one sending loop
    (ledger_site.mailer.send_claimed), counted."""
    report = DeliveryReport()
    outcome = mailer.send_claimed(row_id, token, now, prepare=prepare, retry_later=retry_later,
                                  mark_sent=mark_sent, connection=mail_connection, what=f"reminder {model.__name__}")
    if outcome == "skipped":  # cancelled, undeliverable or no longer ours: prepare recorded why
        row = model.objects.only("status").get(pk=row_id)
        report.cancelled += row.status == OutboxStatus.CANCELLED
        report.failed += row.status == OutboxStatus.FAILED
    elif outcome == "sent":
        report.sent += 1
    elif outcome == OutboxStatus.FAILED:
        report.failed += 1
    elif outcome != "lost":
        report.retrying += 1
    return report


def cancel_reason(row: ReminderMessage, settings, today) -> str | None:
    """Why a row must not go out now: its invoice is no longer open, or (scheduled) a hold applies; an
    instalment's reminder asks its plan (reminders.plans)."""
    if row.kind == OutboxKind.INSTALMENT:
        return plans.why_not_send(row, today)
    reason = not_open_reason(row.invoice)
    if reason is None and row.kind == OutboxKind.SCHEDULED:
        holds = active_holds(row.invoice, today, settings)
        reason = holds[0] if holds else None
    return reason


def cancel(row, reason: str) -> None:
    row.status, row.result, row.lease_until = OutboxStatus.CANCELLED, _("Not sent: %s") % reason, None
    row.save(update_fields=["status", "result", "lease_until"])


def cannot_send(row) -> None:
    """No billing e-mail: failed at once (not retried); the upcoming page says so beforehand."""
    row.status, row.lease_until = OutboxStatus.FAILED, None
    row.result = row.last_error = _("Cannot send: the customer has no billing e-mail address.")
    row.save(update_fields=["status", "result", "last_error", "lease_until"])


def fix_amounts(row: ReminderMessage, today) -> None:
    """What the row's message states (first attempt only): the amount chased and the step's fee."""
    invoice, step = row.invoice, row.step
    chased = chased_amount(invoice, today)  # a partial dispute's part is not chased
    if row.kind == OutboxKind.SCHEDULED and step is not None and step.fee_type != FeeType.NONE:
        row.late_fee = step_fee(step, invoice.organization, invoice.currency, chased, today)[0] or None
    row.amount_due = chased


def _prepare(row_id: int, token: str, now: datetime):
    """Re-check the row under lock, render the message once, return (row, EmailMessage) or None."""
    with transaction.atomic():
        row = engine.lock_if_ours(ReminderMessage.objects.select_related(
            "invoice__customer", "invoice__organization", "customer", "step"), BOX, row_id, token)
        if row is None:
            return None
        engine.heartbeat(BOX, row_id)
        invoice, customer = row.invoice, row.customer
        settings = ReminderSettings.objects.get(organization_id=row.organization_id)
        today = local_today(now, settings)
        reason = cancel_reason(row, settings, today)
        if reason is not None:
            cancel(row, reason)
            return None
        emails = customer.email_list
        if not emails:
            cannot_send(row)
            return None
        if not row.message_id:  # first attempt: fix the message, later attempts send the very same one
            fix_amounts(row, today)
            row.subject, row.body = (render_message(invoice, row.step, today, row.late_fee)
                                     if row.kind != OutboxKind.INSTALMENT else plans.render_reminder(row, today))
            row.to_emails = ", ".join(emails)
            row.message_id = f"<reminder-{row.pk}.{row.organization_id}@{mail_domain()}>"
            row.save(update_fields=["late_fee", "amount_due", "subject", "body", "to_emails", "message_id"])
    message = mailer.compose(subject=row.subject, body=row.body, to=row.to_emails.split(", "),
                             from_email=sender(invoice.organization), reply_to=reply_to(settings),
                             headers={"Message-ID": row.message_id, "X-Ledgerline-Reminder": str(row.pk)})
    if row.step is not None and row.step.attach_pdf:
        pdf = integration.invoice_pdf(invoice)
        if pdf is not None:
            message.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
    return row, message


def render_message(invoice: Invoice, step: ReminderStep | None, today, late_fee=None) -> tuple[str, str]:
    """Subject and body of the step's templates for this invoice, as of `today` (local)."""
    if step is None:
        raise ValueError("a reminder needs a step to take its template from")
    # In the customer's language (issue 17): the step's text in that language (else the organization's
    # default language's, which the policy editor warns about), its amounts, dates and phrases.
    org = invoice.organization
    language = document_language(invoice.customer, org)
    subject_text, body_text, _fell_back = step_text(step, catalog_language(language), organization_language(org))
    with in_language(language):
        values = placeholder_values(invoice, today, late_fee)
        # A subject that was all about the fee is left out by render(); a message still needs one.
        subject = render(subject_text, values) or _("Reminder: invoice %(number)s") % {"number": invoice.number}
        return subject, render(body_text, values)


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
    # one date display (issue 21): the reader's (issue 17), else the organization's
    due = format_day(invoice.due_date, reader_date_locale() or invoice.organization.locale)
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
    return retry_later(ReminderMessage.objects.all(), BOX, row_id, token, now, error)


def retry_later(queryset, box, row_id: int, token: str, now: datetime, error: Exception) -> str | None:
    """After a failed attempt: back to pending with the backoff, or failed after the last attempt,
    said in words on the row (the log page)."""
    with transaction.atomic():
        row = engine.lock_if_ours(queryset, box, row_id, token)
        if row is None:
            return None
        if engine.retry_or_fail(box, row, now, f"{type(error).__name__}: {error}"[:500]) == OutboxStatus.FAILED:
            row.result = _("Gave up after %(n)s attempts.") % {"n": row.attempts}
        else:
            row.result = _("Attempt %(n)s failed; retrying at %(at)s.") % {
                "n": row.attempts, "at": timezone.localtime(row.next_attempt_at).strftime("%Y-%m-%d %H:%M %Z")}
        row.save(update_fields=["last_error", "lease_until", "status", "next_attempt_at", "result"])
        return row.status


def _mark_sent(row_id: int, token: str, now: datetime) -> bool:
    with transaction.atomic():
        row = engine.lock_if_ours(ReminderMessage.objects.select_related("invoice__organization", "step"),
                                  BOX, row_id, token)
        if row is None:
            return False  # our lease ran out and another sender took over; it will record the outcome
        record_sent(row, now, _("Accepted by the mail server for %(to)s.") % {"to": row.to_emails})
    return True


def record_sent(row: ReminderMessage, now: datetime, result: str) -> None:
    """A row's message went (alone or in a consolidated e-mail): mark it sent, post the step's late
    fee in the same transaction, and record it on the invoice, the event hooks and the delivery log."""
    row.status, row.sent_at, row.lease_until = OutboxStatus.SENT, now, None
    row.result = result
    fields = ["status", "sent_at", "lease_until", "result"]
    if row.late_fee and row.kind == OutboxKind.SCHEDULED:
        settings = ReminderSettings.objects.get(organization_id=row.organization_id)
        try:
            with transaction.atomic():
                charge = charge_late_fee(row.invoice, row.offset_days, row.late_fee, local_today(now, settings))
            row.late_fee_invoice = charge.fee_invoice
            fields.append("late_fee_invoice")
        except Exception as e:  # noqa: BLE001 - the message went; say plainly that the fee did not
            log.exception("reminder %s: late fee not posted", row.pk)
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


def _fee_skipped(row: ReminderMessage, now: datetime) -> str | None:
    """Why the step's fee was not charged with this reminder (the invoice's currency had no rate)."""
    step = row.step
    if row.kind != OutboxKind.SCHEDULED or step is None or row.late_fee:
        return None
    day = local_today(now, ReminderSettings.objects.get(organization_id=row.organization_id))
    return currency_mismatch(step, row.invoice.organization, row.invoice.currency, day)


def sender(org) -> str:
    """From: the organization's name on the service's sending address (ledger_site.mailer)."""
    return mailer.sender(org.name)


def reply_to(settings: ReminderSettings) -> list[str]:
    """The organization's reply address, once verified; none before (never an unverified one)."""
    return [settings.reply_to] if settings.reply_to and settings.reply_to_verified_at else []


mail_domain = mailer.mail_domain


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


from reminders import batches  # noqa: E402 (its sender is built from the pieces above)
