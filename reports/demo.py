"""Demo data for the reports (seed_demo): one finished bulk statement run, so the statements page
has something to show. Invoices and payments come from the invoicing and payments hooks."""

from datetime import timedelta

from accounts.models_org import today_in


def seed_demo_reports(org, owner) -> dict:
    from reports.tasks import run_statements, start_run

    today = today_in(org)
    run = start_run(org, owner, style="balance_forward", start=today - timedelta(days=90), end=today,
                    tag="key-account", send=False)
    if run.total:
        run_statements(org.pk, run.pk)
    return {"statement_run": run.pk}
