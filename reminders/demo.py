"""seed_demo (DEMO_HOOKS): what customers said on their links — a dispute of one line and a promise
to pay the rest, raised through the portal's own service as a customer would (issue 19)."""

import uuid
from datetime import timedelta

from invoicing import public
from invoicing.models import Invoice
from reminders import portal

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
                   key=uuid.uuid4().hex, ip=DEMO_ADDRESS)
    invoice.refresh_from_db()
    rest = invoice.amount_due - invoice.disputed_part_on(today)
    if rest > 0:
        portal.promise(link, invoice=invoice, until=today + timedelta(days=5), amount=rest,
                       note="Paying the undisputed part on Friday", key=uuid.uuid4().hex, ip=DEMO_ADDRESS,
                       today=today)
    return {"portal_disputes": 1}
