"""Demo data for the reports (seed_demo): one finished bulk statement run, so the statements page
has something to show, and the owner's subscription to the weekly AR summary as a PDF (Settings →
Report e-mails), whose first e-mail goes out after the coming Sunday. Invoices and payments
come from the invoicing and payments hooks."""

from datetime import timedelta

from accounts.models_org import today_in


def seed_demo_reports(org, owner) -> dict:
    from reports.tasks import run_statements, start_run

    today = today_in(org)
    run = start_run(org, owner, style="balance_forward", start=today - timedelta(days=90), end=today,
                    tag="key-account", send=False)
    if run.total:
        run_statements(org.pk, run.pk)
    from reports.models import ReportSubscription

    subscription, _created = ReportSubscription.objects.get_or_create(
        organization=org, user=owner, report="summary", frequency="weekly", file_format="pdf")
    return {"statement_run": run.pk, "report_subscription": subscription.pk}
