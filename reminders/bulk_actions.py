"""Reminders' bulk actions on the invoice list (issue 21), plugged into invoicing.bulk at ready():

- **remind**: "send a reminder now" with the step the schedule would use next
  (`scheduler.next_step_id`), through the same manual path as the invoice's "Send reminder"
  (`outbox.queue_manual`, delivered right after commit). Never twice for one step: an invoice
  whose step already has a message that went or is going out is skipped, and the outbox key
  `bulk:<invoice>:<step>` makes a second run (double click, a job delivered twice) find the
  first row. Invoices held (disputed, promised, on a plan, held, "do not remind", reminders
  paused) are skipped with the hold's words, as the scan skips them.
- **dispute**: "put on hold / dispute" with a reason from the dispute reasons
  (`disputes.raise_dispute` for the whole amount due; reminders then skip the invoice).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoicing.bulk import PluggedAction
from invoicing.models import InvoiceKind
from reminders import disputes
from reminders.holds import active_holds, not_open_reason
from reminders.models import OutboxStatus, ReminderMessage, ReminderStep
from reminders.models_collections import Dispute, DisputeReason, DisputeStatus
from reminders.outbox import deliver, queue_manual
from reminders.scheduler import next_step_id

GONE = (OutboxStatus.SKIPPED, OutboxStatus.CANCELLED, OutboxStatus.FAILED)  # these did not reach the customer


def _step(invoice):
    step_id = next_step_id(invoice, timezone.now())
    return ReminderStep.objects.filter(organization_id=invoice.organization_id, pk=step_id).first() if step_id else None


def _step_sent(invoice, step) -> bool:
    return ReminderMessage.objects.filter(invoice=invoice, step=step).exclude(status__in=GONE).exists()


def why_not_remind(invoice) -> str:
    if invoice.kind != InvoiceKind.INVOICE or not_open_reason(invoice):
        return _("Not sent: %s.") % (not_open_reason(invoice) or _("not an invoice"))
    if not invoice.customer.email_list:
        return _("%(customer)s has no billing e-mail.") % {"customer": invoice.customer.name}
    holds = active_holds(invoice, invoice.organization.today())
    if holds:
        return _("Not sent: %s.") % "; ".join(str(h) for h in holds)
    step = _step(invoice)
    if step is None:
        return _("No reminder step is due for this invoice.")
    if _step_sent(invoice, step):
        return _("The reminder “%(step)s” was already sent.") % {"step": step}
    return ""


def remind(invoice, actor, params) -> str:
    reason = why_not_remind(invoice)  # again, under the row lock the bulk run holds
    if reason:
        raise ValueError(reason)
    step = _step(invoice)
    row, created = queue_manual(invoice, step, actor, f"bulk:{invoice.pk}:{step.pk}")
    if not created and row.status in GONE:  # an earlier bulk send of this step that failed
        raise ValueError(_("The earlier reminder “%(step)s” failed; retry it from the reminder log.") % {"step": step})
    if not created:
        raise ValueError(_("The reminder “%(step)s” was already sent.") % {"step": step})
    org_id, row_id = invoice.organization_id, row.pk
    transaction.on_commit(lambda: deliver(org_id, ids=[row_id]))
    return _("Reminder “%(step)s” sent to %(to)s.") % {"step": step, "to": ", ".join(invoice.customer.email_list)}


def why_not_dispute(invoice) -> str:
    if invoice.kind != InvoiceKind.INVOICE or not invoice.is_open:
        return _("Only an open invoice can be disputed.")
    if Dispute.objects.filter(invoice=invoice).exclude(status=DisputeStatus.RESOLVED).exists():
        return _("Already disputed: add to the open dispute instead.")
    return ""


def dispute(invoice, actor, params) -> str:
    reason = why_not_dispute(invoice)
    if reason:
        raise ValueError(reason)
    d = disputes.raise_dispute(invoice, reason=params.get("reason", ""), actor=actor, assignee=actor)
    return _("Disputed (%(reason)s); reminders skip it.") % {"reason": d.get_reason_display()}


REMIND = PluggedAction(label=gettext_lazy("Send a reminder now"), will=gettext_lazy("A reminder will be sent."),
                       why_not=why_not_remind, do=remind)
DISPUTE = PluggedAction(label=gettext_lazy("Put on hold / dispute"),
                        will=gettext_lazy("Will be marked disputed; reminders skip it."),
                        why_not=why_not_dispute, do=dispute, reasons=list(DisputeReason.choices))
