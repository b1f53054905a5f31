"""seed_demo (DEMO_HOOKS): what customers said on their links — a dispute of one line with the delivery
note attached and a promise to pay the rest, raised through the portal's own service as a customer
would (issue 19)."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count

from invoicing import public
from invoicing.models import Invoice
from reminders import portal
from reminders.models import CustomerReminderSettings, ReminderPolicy, ReminderStep

DEMO_ADDRESS = "203.0.113.10"  # documentation range: the demo customer's address


def seed_demo_collections(org, owner) -> dict:
    today = org.today()
    candidates = (Invoice.objects.overdue(today).filter(organization=org, disputed_at__isnull=True)
                  .prefetch_related("lines").order_by("due_date", "pk"))
    invoice = next((i for i in candidates if len(i.lines.all()) >= 2), None) or candidates.first()
    if invoice is None:
        return {"portal_disputes": 0}
    link = public.ensure_link(invoice, actor=owner)
    line = invoice.lines.all()[len(invoice.lines.all()) - 1]
    portal.dispute(link, invoice=invoice, reason="not_received", amount=None, line_ids=[line.pk],
                   message="We never received this item; the rest is fine and will be paid.",
                   key=uuid.uuid4().hex, ip=DEMO_ADDRESS, files=[_delivery_note(invoice, line)])
    invoice.refresh_from_db()
    rest = invoice.amount_due - invoice.disputed_part_on(today)
    if rest > 0:
        portal.promise(link, invoice=invoice, until=today + timedelta(days=5), amount=rest,
                       note="Paying the undisputed part on Friday", key=uuid.uuid4().hex, ip=DEMO_ADDRESS,
                       today=today)
    return {"portal_disputes": 1, "dispute_attachments": 1}


def _delivery_note(invoice, line) -> SimpleUploadedFile:
    """The customer's signed delivery note, without the disputed item: a real PDF, as a customer uploads."""
    from html import escape

    from weasyprint import HTML

    html = (f"<h1>Delivery note</h1><p>Order {escape(invoice.reference or invoice.number)}, received "
            f"{invoice.issue_date.isoformat()}.</p><p>Missing from the parcel: {escape(line.description)}.</p>"
            "<p>Signed: goods inwards</p>")
    return SimpleUploadedFile("delivery-note.pdf", HTML(string=html).write_pdf(), content_type="application/pdf")


ONE_A_DAY = "One e-mail a day"


def seed_demo_one_email_a_day(org, owner) -> dict:
    """A policy like the default that sends one e-mail per customer a day (issue 19 item 4), for the
    customer with the most overdue invoices: the next scan sends them one e-mail listing them all."""
    default = ReminderPolicy.objects.filter(organization=org, is_default=True).first()
    busiest = (Invoice.objects.overdue(org.today()).filter(organization=org).values("customer_id")
               .annotate(n=Count("id")).order_by("-n", "customer_id").first())
    if default is None or busiest is None or ReminderPolicy.objects.filter(organization=org, name=ONE_A_DAY).exists():
        return {"one_email_a_day": 0}
    policy = ReminderPolicy.objects.create(organization=org, name=ONE_A_DAY, one_message_per_customer=True,
                                           repeat_every_days=default.repeat_every_days,
                                           repeat_limit=default.repeat_limit)
    ReminderStep.objects.bulk_create([
        ReminderStep(organization=org, policy=policy, offset_days=s.offset_days, tone=s.tone, subject=s.subject,
                     body=s.body, attach_pdf=s.attach_pdf) for s in default.steps.all()])
    CustomerReminderSettings.objects.update_or_create(customer_id=busiest["customer_id"],
                                                      defaults={"organization": org, "policy": policy})
    return {"one_email_a_day": 1}
def seed_demo_plans(org, owner) -> dict:
    """A payment plan proposed by staff and accepted by the customer on their link, and a logged call
    (issue 19 #7, #6): for an overdue customer other than the one who disputed."""
    from reminders import plans
    from reminders.models_collections import Dispute
    from reminders.models_plans import ContactLog

    today = org.today()
    disputed = Dispute.objects.filter(organization=org).values("customer_id")
    invoice = (Invoice.objects.overdue(today).filter(organization=org, disputed_at__isnull=True, kind="invoice")
               .exclude(customer_id__in=disputed).exclude(promises__isnull=False).order_by("due_date", "pk").first())
    if invoice is None:
        return {"payment_plans": 0}
    customer = invoice.customer
    invoices = [i for i in Invoice.objects.overdue(today).filter(customer=customer, kind="invoice",
                                                                  currency=invoice.currency, disputed_at__isnull=True)]
    total = sum((i.amount_due for i in invoices), Decimal(0))
    amounts = plans.split(total, invoice.currency, 3)
    days = plans.schedule(today + timedelta(days=7), 30, 3)
    plan = plans.create_plan(customer, [i.pk for i in invoices], list(zip(days, amounts, strict=True)), actor=owner,
                             propose=True, today=today, note="Three monthly instalments, as agreed on the phone")
    link = public.ensure_link(invoice, actor=owner)
    portal.accept_plan(link, plan_id=plan.pk, key=uuid.uuid4().hex, ip=DEMO_ADDRESS, today=today)
    ContactLog.objects.create(organization=org, customer=customer, kind="call", outcome="reached",
                              note="Asked to spread the overdue balance over three months; plan sent to their link.",
                              follow_up=today + timedelta(days=7), created_by=owner)
    return {"payment_plans": 1}


def seed_demo_digest(org, owner) -> dict:
    """The owner asked for the daily e-mail of their unread notifications (issue 19 item 8): the
    worker's hourly run sends it from the morning on (reminders.digests)."""
    from reminders import digests

    digests.set_subscribed(org, owner, True)
    return {"notification_digests": 1}
