"""One reminder e-mail per customer a day (issue 19 item 4; `ReminderPolicy.one_message_per_customer`).

The scan writes the per-invoice outbox rows exactly as for any policy (one per invoice and step, the
catch-up rule, late fees per step), and then puts the new pending rows of a consolidating policy into
their customer's `ReminderBatch` of the day (reminders.scheduler.batch_new_rows). A batch is one
e-mail: it lists every invoice at a step that day, in the firmest tone among their steps, with the
customer's statement PDF attached. Its rows are never sent on their own (the per-invoice sender
claims only rows without a batch); they are marked sent, each with its late fee, timeline event,
webhook and delivery-log line, in the transaction that marks the batch sent.

The e-mail is a row of invoicing's one outbox table (kind "reminder_batch", `ReminderBatch.email`);
sending is the reminder outbox's (reminders/outbox.py) on the one claim-lease-backoff engine
(ledger_site/outbox.py, `BATCH_OUTBOX`, over those rows): claim (SKIP LOCKED, lease in database time), prepare
under lock (re-check every invoice: paid, void, disputed, promised... cancel that row; render once,
a Message-ID per batch), send outside any transaction, mark sent only if the claim is still ours.
At-least-once like every reminder: a crash between the server's 250 and our commit resends after the
lease, the very same e-mail with the same Message-ID. The list is fixed at the first attempt (the
rows it lists carry its Message-ID); if it changes before a retry (an invoice paid meanwhile, a row
joined while the batch waited), the e-mail is rendered again, with a new Message-ID.
"""

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, ngettext_lazy

from accounts.locale import document_language, format_day, in_language
from accounts.money import format_money
from invoicing import hooks
from invoicing.models_documents import EmailDelivery
from ledger_site import mailer
from ledger_site import outbox as engine
from reminders import integration
from reminders.models import BATCH_OUTBOX, OutboxStatus, ReminderBatch, ReminderMessage, ReminderSettings, Tone
from reminders.outbox import (
    DeliveryReport,
    cancel,
    cancel_reason,
    cannot_send,
    due_when,
    fix_amounts,
    mail_domain,
    record_sent,
    reply_to,
    retry_later,
    send_prepared,
    sender,
)
from reminders.scheduler import local_today

FIRMNESS = {Tone.FRIENDLY: 0, Tone.FIRM: 1, Tone.FINAL: 2}
# (one invoice, several), marked for makemessages: ngettext_lazy picks the form from the "n" formatted in.
SUBJECTS = {
    Tone.FRIENDLY: ngettext_lazy("Reminder: %(n)s invoice from %(org)s", "Reminder: %(n)s invoices from %(org)s", "n"),
    Tone.FIRM: ngettext_lazy("Payment reminder: %(n)s invoice from %(org)s",
                             "Payment reminder: %(n)s invoices from %(org)s", "n"),
    Tone.FINAL: ngettext_lazy("Final reminder: %(n)s invoice from %(org)s",
                              "Final reminder: %(n)s invoices from %(org)s", "n"),
}
OPENINGS = {
    Tone.FRIENDLY: ngettext_lazy("This is a friendly reminder about the invoice below.",
                                 "This is a friendly reminder about the invoices below.", "n"),
    Tone.FIRM: ngettext_lazy("The invoice below is still unpaid. Please arrange payment now.",
                             "The invoices below are still unpaid. Please arrange payment now.", "n"),
    Tone.FINAL: ngettext_lazy("This is our final reminder about the invoice below. Please pay it without delay; "
                              "otherwise we will have to take further steps.",
                              "This is our final reminder about the invoices below. Please pay them without delay; "
                              "otherwise we will have to take further steps.", "n"),
}


def claim(org_id: int, now: datetime, ids=None, limit: int | None = None) -> list[tuple[int, str]]:
    """Claim due consolidated e-mails: [(id of the e-mail's outbox row, token)]."""
    return engine.claim(BATCH_OUTBOX, org_id, now, ids=ids, limit=limit)


def deliver(org_id: int, now: datetime | None = None, ids=None, max_batches: int | None = None,
            mail_connection=None) -> DeliveryReport:
    """Send every claimable consolidated e-mail of the organization (the caller is in its tenant
    context). `sent` counts e-mails, not the invoices they list."""
    report = DeliveryReport()
    for outcome in engine.run(BATCH_OUTBOX, org_id, lambda email_id, token, clock: send_batch(
            email_id, token, clock, mail_connection), now=now, ids=ids, max_batches=max_batches):
        report += outcome
    return report


def send_batch(email_id: int, token: str, now: datetime, mail_connection=None) -> DeliveryReport:
    return send_prepared(EmailDelivery, email_id, token, now, _prepare, _retry_later, _mark_sent, mail_connection)


def _batch(email: EmailDelivery) -> ReminderBatch:
    """The consolidated reminder of a (locked) outbox row, carrying that very row."""
    batch = ReminderBatch.objects.select_related("customer", "organization").get(email_id=email.pk)
    batch.email = email
    return batch


def _rows(batch: ReminderBatch):
    """The batch's rows still to send, locked, oldest due first."""
    return list(ReminderMessage.objects.select_for_update(of=("self",))
                .select_related("invoice__customer", "invoice__organization", "customer", "step")
                .filter(batch=batch, status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING])
                .order_by("invoice__due_date", "invoice__number", "pk"))


def _prepare(email_id: int, token: str, now: datetime):
    """Re-check every row under lock, render the e-mail once (again only if an invoice dropped out),
    return (outbox row, EmailMessage) or None (nothing left to send, or no longer ours)."""
    with transaction.atomic():
        email = engine.lock_if_ours(EmailDelivery.objects.all(), BATCH_OUTBOX, email_id, token)
        if email is None:
            return None
        engine.heartbeat(BATCH_OUTBOX, email_id)
        batch = _batch(email)
        settings = ReminderSettings.objects.get(organization_id=batch.organization_id)
        today = local_today(now, settings)
        rows, dropped = [], False
        for row in _rows(batch):
            reason = cancel_reason(row, settings, today)
            if reason is None:
                rows.append(row)
            else:
                dropped = dropped or (bool(batch.message_id) and row.message_id == batch.message_id)
                cancel(row, reason)
        if not rows:
            email.status, email.lease_until = OutboxStatus.CANCELLED, None
            email.result = _("Not sent: none of its invoices is to be reminded any more.")
            email.save(update_fields=["status", "lease_until", "result"])
            return None
        emails = batch.customer.email_list
        if not emails:
            for row in rows:
                cannot_send(row)
            cannot_send(email)
            return None
        # First attempt, or the list changed since (an invoice dropped out, or a row joined while
        # the batch waited for a retry): render it (again); otherwise send the very same e-mail.
        if not batch.message_id or dropped or any(row.message_id != batch.message_id for row in rows):
            _render(batch, rows, today, emails)
    attachments = []
    if "customer" in hooks.STATEMENT_PDF:
        document = hooks.STATEMENT_PDF["customer"](batch.customer, today)
        attachments.append((document.filename, bytes(document.content), "application/pdf"))
    message = mailer.compose(subject=email.subject, body=email.body, to=email.recipients,
                             from_email=sender(batch.organization), reply_to=reply_to(settings),
                             headers={"Message-ID": email.message_id, "X-Ledgerline-Reminder-Batch": str(batch.pk)},
                             attachments=attachments)
    return email, message


def _render(batch: ReminderBatch, rows: list[ReminderMessage], today, emails: list[str]) -> None:
    """Fix what the e-mail says and what each row states (amount chased, late fee, the e-mail's
    subject and Message-ID: the rows it lists are those carrying its Message-ID)."""
    for row in rows:
        fix_amounts(row, today)
    batch.tone = max((row.tone for row in rows), key=lambda tone: FIRMNESS.get(tone, 0))
    batch.save(update_fields=["tone"])
    email = batch.email
    with in_language(document_language(batch.customer, batch.organization)):  # issue 17: the customer's language
        email.subject, email.body = render_batch(batch.customer, rows, today, batch.tone)
        lines = {row.pk: _line(row, today) for row in rows}
    email.recipients = list(emails)
    revision = f".{email.attempts}" if email.message_id else ""
    email.message_id = f"<reminder-batch-{batch.pk}{revision}.{batch.organization_id}@{mail_domain()}>"
    email.save(update_fields=["subject", "body", "recipients", "message_id"])
    for row in rows:
        row.subject, row.to_emails, row.message_id = email.subject, email.recipient_list, email.message_id
        row.body = lines[row.pk]
        row.save(update_fields=["late_fee", "amount_due", "subject", "body", "to_emails", "message_id"])


def _line(row: ReminderMessage, today) -> str:
    invoice = row.invoice
    due = format_day(invoice.due_date)  # the reader's format inside in_language, else the organization's
    days = (today - invoice.due_date).days
    amount = format_money(row.amount_due, invoice.currency)
    line = f"- {invoice.number}: {amount} {due_when(invoice.due_date, today, due)}"
    if days > 0:
        line += " " + ngettext("(%(n)s day overdue)", "(%(n)s days overdue)", days) % {"n": days}
    if row.late_fee:
        line += "; " + _("a late fee of %(fee)s is added") % {"fee": format_money(row.late_fee, invoice.currency)}
    return line


def render_batch(customer, rows: list[ReminderMessage], today, tone: str) -> tuple[str, str]:
    """Subject and body of a customer's one reminder of the day, as of `today` (local): one line per
    invoice with the amount asked and what is true of its due date that day, totals per currency."""
    org = rows[0].invoice.organization
    subject = SUBJECTS[tone] % {"n": len(rows), "org": org.name}
    totals: dict[str, object] = defaultdict(int)
    for row in rows:
        totals[row.invoice.currency] += row.amount_due + (row.late_fee or 0)
    total = ", ".join(format_money(amount, currency) for currency, amount in sorted(totals.items()))
    link = integration.public_link(rows[0].invoice)
    lines = [
        _("Dear %(customer)s,") % {"customer": customer.name}, "",
        OPENINGS[tone] % {"n": len(rows)}, "",
        *[_line(row, today) for row in rows], "",
        _("Total: %(total)s") % {"total": total}, "",
        _("Your statement is attached. Your account with %(org)s, every open invoice and what you can do about "
          "it: %(link)s") % {"org": org.name, "link": link.rstrip("/") + "/account/"}, "",
        _("If you have paid in the meantime, thank you, and please ignore this message. If something is wrong, "
          "reply to this e-mail."), "",
        org.name,
    ]
    return subject, "\n".join(lines)


def _retry_later(email_id: int, token: str, now: datetime, error: Exception) -> str | None:
    status = retry_later(EmailDelivery.objects.all(), BATCH_OUTBOX, email_id, token, now, error)
    if status == OutboxStatus.FAILED:  # given up: so are its rows (the log shows each invoice's)
        with transaction.atomic():
            batch = ReminderBatch.objects.get(email_id=email_id)
            for row in _rows(batch):
                row.status, row.last_error = OutboxStatus.FAILED, batch.last_error
                row.result = _("Gave up after %(n)s attempts (one e-mail for the customer's invoices).") % {
                    "n": batch.attempts}
                row.save(update_fields=["status", "last_error", "result"])
    return status


def _mark_sent(email_id: int, token: str, now: datetime) -> bool:
    """The server accepted the e-mail: the batch and every row it listed are sent, in one transaction
    (each row's late fee, timeline event, webhook and delivery-log line with it). The batch is sealed
    when its e-mail's row turns sent (reminders.seals.sealed_on_send_sql)."""
    with transaction.atomic():
        email = engine.lock_if_ours(EmailDelivery.objects.all(), BATCH_OUTBOX, email_id, token)
        if email is None:
            return False  # our lease ran out and another sender took over; it will record the outcome
        batch = _batch(email)
        rows = [row for row in _rows(batch) if row.message_id == email.message_id]  # what the e-mail listed
        email.status, email.sent_at, email.lease_until = OutboxStatus.SENT, now, None
        email.result = ngettext("Accepted by the mail server for %(to)s: one e-mail listing %(n)s invoice.",
                                "Accepted by the mail server for %(to)s: one e-mail listing %(n)s invoices.",
                                len(rows)) % {"to": email.recipient_list, "n": len(rows)}
        email.save(update_fields=["status", "sent_at", "lease_until", "result"])
        for row in rows:
            record_sent(row, now, _("Accepted by the mail server for %(to)s, in one e-mail with the customer's other "
                                    "invoices at a step today.") % {"to": row.to_emails})
    return True
