"""How to build the reminder pages' URL arguments, and a valid POST for each write, for the matrix."""

import uuid
from datetime import date, timedelta

from reminders.models import OutboxStatus, PromiseToPay, ReminderMessage, ReminderPolicy, ReminderStep
from tests.urlmatrix import register_object, register_url


@register_object("reminder_invoice")
def _overdue_invoice(world):
    from tests.invoicing_helpers import issued

    today = date.today()
    return issued(world.org, world.get("customer"), issue_date=today - timedelta(days=40),
                  due_date=today - timedelta(days=10))


@register_object("reminder_policy")
def _policy(world):
    return ReminderPolicy.objects.get(organization=world.org, is_default=True)


@register_object("reminder_failed_message")
def _failed_message(world):
    invoice = world.get("reminder_invoice")
    step = ReminderStep.objects.filter(organization=world.org).first()
    return ReminderMessage.objects.create(organization=world.org, invoice=invoice, customer=invoice.customer,
                                          step=step, offset_days=7, due_at=invoice.created_at,
                                          status=OutboxStatus.FAILED, attempts=7, last_error="SMTP down")


@register_object("reminder_promise")
def _promise(world):
    invoice = world.get("reminder_invoice")
    return PromiseToPay.objects.create(organization=world.org, invoice=invoice, until=date.today() + timedelta(days=5),
                                       promised_by="Jane Roe")


def _policy_post(world, name="Matrix policy"):
    return {"name": name, "repeat_every_days": "", "repeat_limit": "0",
            "steps-TOTAL_FORMS": "1", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "12", "steps-0-offset_days": "5", "steps-0-tone": "firm",
            "steps-0-subject": "Overdue {invoice_number}", "steps-0-body": "Dear {customer}, {amount_due}.",
            "steps-0-fee_type": "none", "steps-0-fee_value": "", "steps-0-fee_cap": ""}


register_url("reminder_skip", methods=["POST"],
             post=lambda w: {"invoice": w.get("reminder_invoice").pk, "offset": "21"})
register_url("reminder_retry", pk="reminder_failed_message", post=lambda w: {}, methods=["POST"])
register_url("reminder_policy", pk="reminder_policy")
register_url("reminder_policy_create", post=_policy_post)
register_url("reminder_policy_edit", pk="reminder_policy", post=lambda w: {
    **_policy_post(w, "Renamed"), "is_default": "on"})
register_url("reminder_settings", post=lambda w: {"timezone": "Europe/Berlin", "send_hour": "9"})
register_url("reminder_customer", pk="customer", post=lambda w: {"do_not_remind": "on", "note": "in talks"})
register_url("reminder_send", pk="reminder_invoice", post=lambda w: {
    "step": ReminderStep.objects.filter(organization=w.org).order_by("offset_days").last().pk,
    "key": uuid.uuid4().hex})
register_url("reminder_promise", pk="reminder_invoice", post=lambda w: {
    "until": (date.today() + timedelta(days=7)).isoformat(), "promised_by": "Jane Roe", "note": ""})
register_url("reminder_promise_cancel", pk="reminder_promise", post=lambda w: {}, methods=["POST"])
