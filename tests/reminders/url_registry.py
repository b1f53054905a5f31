"""How to build the reminder pages' URL arguments, and a valid POST for each write, for the matrix."""

import io
import uuid
from datetime import date, timedelta
from decimal import Decimal

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


@register_object("webhook_endpoint")
def _webhook_endpoint(world):
    from reminders.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(organization=world.org, url="https://93.184.215.14/matrix",
                                          events=["invoice.issued"], secret="whsec_matrix")


@register_object("webhook_disabled_endpoint")
def _webhook_disabled(world):
    from reminders.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(organization=world.org, url="https://93.184.215.14/off",
                                          events=["invoice.paid"], secret="whsec_off", is_active=False)


@register_object("webhook_delivery")
def _webhook_delivery(world):
    from reminders.models import WebhookDelivery

    return WebhookDelivery.objects.create(organization=world.org, endpoint=world.get("webhook_endpoint"),
                                          event_id=uuid.uuid4(), event_type="invoice.issued", body="{}",
                                          status="delivered", attempts=1)


# An IP literal: the form resolves nothing and nothing is contacted at registration.
register_url("webhook_list", post=lambda w: {"url": f"https://93.184.215.14/{uuid.uuid4().hex}",
                                             "events": ["invoice.issued", "payment.recorded"]})
register_url("webhook_detail", pk="webhook_endpoint")
register_url("webhook_enable", pk="webhook_disabled_endpoint", post=lambda w: {}, methods=["POST"])
register_url("webhook_rotate", pk="webhook_endpoint", post=lambda w: {}, methods=["POST"])
register_url("webhook_delete", pk="webhook_endpoint", post=lambda w: {}, methods=["POST"])
register_url("webhook_resend", pk="webhook_endpoint", delivery_pk="webhook_delivery", post=lambda w: {},
             methods=["POST"])


# Disputes (issue 19).
@register_object("dispute")
def _dispute(world):
    from reminders import disputes

    return disputes.raise_dispute(world.get("reminder_invoice"), reason="wrong_amount", amount=Decimal("10"),
                                  message="Too much")


register_url("dispute_list")
register_url("dispute_detail", pk="dispute")
register_url("dispute_resolve", pk="dispute", post=lambda w: {"outcome": "rejected", "note": "Price as agreed"},
             methods=["POST"])
register_url("dispute_reply", pk="dispute", post=lambda w: {"body": "Which item?"}, methods=["POST"])
register_url("dispute_assign", pk="dispute", post=lambda w: {"assignee": w.finance.pk}, methods=["POST"])
register_url("dispute_create", pk="reminder_invoice", post=lambda w: {"reason": "quality", "amount": "5",
                                                                      "message": ""})


@register_object("dispute_attachment")
def _dispute_attachment(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reminders import attachments

    files = [SimpleUploadedFile("note.pdf", b"%PDF-1.4 matrix", content_type="application/pdf")]
    return attachments.attach(world.get("dispute"), files, actor=world.owner)[0]


class _Rewound(io.BytesIO):
    """A file the matrix posts once per role: each post reads it from the start."""

    name = "more.pdf"

    def read(self, *args):
        self.seek(0)
        return super().read(*args)


def _attach_post(world):
    return {"files": [_Rewound(f"%PDF-1.4 {uuid.uuid4().hex}".encode())]}


register_url("dispute_attach", pk="dispute", post=_attach_post, methods=["POST"])
register_url("dispute_attachment", pk="dispute", file_pk="dispute_attachment")
register_url("worklist")
register_url("notifications_read", post=lambda w: {}, methods=["POST"], post_changes=False)


# Payment plans, calls and the activity log (issue 19 #6, #7).
@register_object("payment_plan")
def _payment_plan(world):
    from reminders import plans

    invoice = world.get("reminder_invoice")
    invoice.refresh_from_db()
    return plans.create_plan(invoice.customer, [invoice.pk], [(date.today() + timedelta(days=3), invoice.amount_due)],
                             propose=True, today=date.today())


register_url("plan_create", pk="customer", post=lambda w: {
    "invoices": [w.get("reminder_invoice").pk], "count": "2", "first": date.today().isoformat(), "every_days": "30",
    "grace_days": "3", "propose": "on"})
register_url("plan_cancel", pk="payment_plan", post=lambda w: {}, methods=["POST"])
register_url("call_log", pk="customer", post=lambda w: {"outcome": "no_answer", "note": "", "key": uuid.uuid4().hex},
             methods=["POST"])
register_url("customer_activity", pk="customer")
