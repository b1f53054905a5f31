"""How the URL × role matrix (tests/urlmatrix.py) builds and posts the reports pages."""

from django.utils import timezone

from tests.urlmatrix import register_object, register_url

register_url("aging_cell", pk="customer")
register_url("aging_export", fmt=lambda world: "csv")
register_url("report_settings", post=lambda world: {"aging_limits": "15,45,90", "aging_basis": "due",
                                                    "credit_overdue_days": "45", "dso_formula": "average"})


@register_object("statement_run")
def _statement_run(world):
    from reports.models import StatementRun

    return StatementRun.objects.create(organization=world.org, created_by=world.owner, style="balance_forward",
                                       start=timezone.localdate(), end=timezone.localdate(), status="done")


def _statement_email(world):
    world.get("customer")
    return {"recipients": "ap@matrix.example", "subject": "Statement", "body": "Attached."}


def _bulk(world):
    from tests.invoicing_helpers import issued

    issued(world.org, world.get("customer"), [("Work", "1", "10.00", None)], actor=world.owner)
    today = timezone.localdate().isoformat()
    return {"style": "balance_forward", "start": today, "end": today, "tag": "", "send": ""}


register_url("customer_statement", pk="customer")
register_url("customer_statement_pdf", pk="customer")
register_url("customer_statement_email", pk="customer", post=_statement_email)
register_url("statement_bulk_start", post=_bulk)
register_url("statement_run", pk="statement_run")
register_url("forecast_week", week=lambda world: "0")


# issue 20 item 9: report e-mails (each member's own subscriptions; finance is the lowest role allowed)
@register_object("report_subscription")
def _report_subscription(world):
    from reports.models import ReportSubscription

    return ReportSubscription.objects.create(organization=world.org, user=world.finance, report="aging",
                                             frequency="monthly", file_format="xlsx")


register_url("report_subscriptions", post=lambda world: {"report": "summary", "frequency": "weekly",
                                                         "file_format": "pdf"})
register_url("report_subscription_delete", pk="report_subscription")
