"""Reports under /o/<org_slug>/reports/ (the dashboard itself is the organization's home: accounts.urls_org)."""

from django.urls import path

from reports.views import journal, kpi, reports, subscriptions

urlpatterns = [
    path("", reports.report_index, name="report_index"),
    path("settings/", reports.report_settings, name="report_settings"),
    path("aging/", reports.aging_report, name="aging_report"),
    path("aging/customers/<int:pk>/", reports.aging_cell, name="aging_cell"),
    path("aging/export.<str:fmt>", reports.aging_export, name="aging_export"),
    path("open-items/", reports.open_items_report, name="open_items_report"),
    path("journal-export/", journal.journal_export_page, name="journal_export"),
    path("auditor-pack/", journal.auditor_pack_page, name="auditor_pack"),
]
urlpatterns += [
    path("customers/<int:pk>/statement/", reports.customer_statement, name="customer_statement"),
    path("customers/<int:pk>/statement.pdf", reports.customer_statement_pdf, name="customer_statement_pdf"),
    path("customers/<int:pk>/statement/email/", reports.customer_statement_email, name="customer_statement_email"),
    path("statements/", reports.statement_bulk, name="statement_bulk"),
    path("statements/start/", reports.statement_bulk_start, name="statement_bulk_start"),
    path("statements/runs/<int:pk>/", reports.statement_run, name="statement_run"),
    path("insights/", reports.insights_report, name="insights_report"),
    path("forecast/", reports.forecast_report, name="forecast_report"),
    path("forecast/weeks/<str:week>/", reports.forecast_week, name="forecast_week"),
    path("forecast/accuracy/", reports.forecast_accuracy_report, name="forecast_accuracy"),
    path("credit-control/", reports.credit_control, name="credit_control"),
    path("credit-control/export.csv", reports.credit_control_export, name="credit_control_export"),
    path("profit-and-loss/", reports.profit_and_loss, name="profit_and_loss"),
    path("revaluation/", reports.revaluation_report, name="revaluation_report"),
    path("revaluation/post/", reports.revaluation_post, name="revaluation_post"),
    path("revaluation/documents/", reports.revaluation_documents, name="revaluation_documents"),
    path("revenue/", reports.revenue_report, name="revenue_report"),
]
# issue 20: reports over time
urlpatterns += [
    path("dso/", kpi.dso_report, name="dso_report"),
    path("subscriptions/", subscriptions.report_subscriptions, name="report_subscriptions"),
    path("subscriptions/<int:pk>/delete/", subscriptions.report_subscription_delete,
         name="report_subscription_delete"),
    path("collection-kpis/", kpi.collection_kpis, name="collection_kpis"),
    path("collection-kpis/invoices/", kpi.kpi_invoices, name="kpi_invoices"),
    path("payment-behaviour/", kpi.payment_behaviour, name="payment_behaviour"),
    path("collections/", kpi.collections_series, name="collections_series"),
    path("balance-sheet/", kpi.balance_sheet, name="balance_sheet"),
    path("cash-flow/", kpi.cash_flow, name="cash_flow"),
]
