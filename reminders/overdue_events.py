"""invoice.overdue: announced once per invoice, by the schedule, after its due date has passed.

No business action makes an invoice overdue (the calendar does), so no service can emit the event
where it happens; the task `reminders.tasks.announce_overdue` (hourly) finds the invoices that
became overdue and emits it for each. An OverdueAnnouncement row (unique per invoice) is the
once-ever marker, written in the transaction of the outbox rows, so a crash either keeps both or
neither and two workers running at once cannot announce an invoice twice.

Only invoices whose due date passed within CATCH_UP_DAYS are announced: a worker stopped for a few
days catches up, while an invoice overdue for months (imported history, or an endpoint subscribed
today) is not announced as if it had just fallen due. An invoice that is settled again before the
task runs is not announced. Organizations with no endpoint listening do no work at all.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from invoicing.hooks import emit, invoice_data
from invoicing.invoice_sql import is_overdue
from invoicing.models import Invoice
from reminders.models_webhooks import WebhookEndpoint, WebhookEvent

CATCH_UP_DAYS = 7
BATCH = 2000  # per organization and run; the next run (an hour later) goes on

_MARK = f"""
INSERT INTO reminders_overdueannouncement (organization_id, invoice_id, due_date, announced_at)
SELECT i.organization_id, i.id, i.due_date, %(now)s
FROM invoicing_invoice i
WHERE i.organization_id = %(org)s AND {is_overdue("i")} AND i.due_date >= %(since)s
  AND NOT EXISTS (SELECT 1 FROM reminders_overdueannouncement a WHERE a.invoice_id = i.id)
ORDER BY i.due_date, i.id
LIMIT %(limit)s
ON CONFLICT (invoice_id) DO NOTHING
RETURNING invoice_id
"""  # noqa: S608 (constant text from invoicing.invoice_sql; every value is bound)


def listening(org_id: int) -> bool:
    return WebhookEndpoint.objects.filter(organization_id=org_id, is_active=True,
                                          events__contains=[WebhookEvent.INVOICE_OVERDUE.value]).exists()


@transaction.atomic
def announce(org, now: datetime | None = None) -> int:
    """Emit invoice.overdue for the organization's newly overdue invoices (run in its tenant
    context). Returns how many were announced."""
    now = now or timezone.now()
    if not listening(org.pk):
        return 0
    today = org.today(now)
    with connection.cursor() as cursor:
        cursor.execute(_MARK, {"org": org.pk, "now": now, "today": today,
                               "since": today - timedelta(days=CATCH_UP_DAYS), "limit": BATCH})
        ids = [row[0] for row in cursor.fetchall()]
    for invoice in Invoice.objects.filter(pk__in=ids).order_by("due_date", "pk"):
        emit(org.pk, WebhookEvent.INVOICE_OVERDUE.value,
             {**invoice_data(invoice), "days_overdue": (today - invoice.due_date).days})
    return len(ids)
