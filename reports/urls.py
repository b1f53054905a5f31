"""Reports under /o/<org_slug>/reports/ (the dashboard itself is the organization's home: accounts.urls_org)."""

from django.urls import path

from reports import views, views_journal, views_kpi, views_subscriptions

urlpatterns = [
    path("", views.report_index, name="report_index"),
    path("settings/", views.report_settings, name="report_settings"),
    path("aging/", views.aging_report, name="aging_report"),
    path("aging/customers/<int:pk>/", views.aging_cell, name="aging_cell"),
    path("aging/export.<str:fmt>", views.aging_export, name="aging_export"),
    path("open-items/", views.open_items_report, name="open_items_report"),
    path("journal-export/", views_journal.journal_export_page, name="journal_export"),
    path("auditor-pack/", views_journal.auditor_pack_page, name="auditor_pack"),
]
urlpatterns += [
    path("customers/<int:pk>/statement/", views.customer_statement, name="customer_statement"),
    path("customers/<int:pk>/statement.pdf", views.customer_statement_pdf, name="customer_statement_pdf"),
    path("customers/<int:pk>/statement/email/", views.customer_statement_email, name="customer_statement_email"),
    path("statements/", views.statement_bulk, name="statement_bulk"),
    path("statements/start/", views.statement_bulk_start, name="statement_bulk_start"),
    path("statements/runs/<int:pk>/", views.statement_run, name="statement_run"),
    path("insights/", views.insights_report, name="insights_report"),
    path("forecast/", views.forecast_report, name="forecast_report"),
    path("forecast/weeks/<str:week>/", views.forecast_week, name="forecast_week"),
    path("forecast/accuracy/", views.forecast_accuracy_report, name="forecast_accuracy"),
    path("credit-control/", views.credit_control, name="credit_control"),
    path("credit-control/export.csv", views.credit_control_export, name="credit_control_export"),
    path("profit-and-loss/", views.profit_and_loss, name="profit_and_loss"),
    path("revaluation/", views.revaluation_report, name="revaluation_report"),
    path("revaluation/post/", views.revaluation_post, name="revaluation_post"),
    path("revenue/", views.revenue_report, name="revenue_report"),
]
# issue 20: reports over time
urlpatterns += [
    path("dso/", views_kpi.dso_report, name="dso_report"),
    path("subscriptions/", views_subscriptions.report_subscriptions, name="report_subscriptions"),
    path("subscriptions/<int:pk>/delete/", views_subscriptions.report_subscription_delete,
         name="report_subscription_delete"),
    path("collection-kpis/", views_kpi.collection_kpis, name="collection_kpis"),
    path("collection-kpis/invoices/", views_kpi.kpi_invoices, name="kpi_invoices"),
    path("payment-behaviour/", views_kpi.payment_behaviour, name="payment_behaviour"),
    path("collections/", views_kpi.collections_series, name="collections_series"),
    path("balance-sheet/", views_kpi.balance_sheet, name="balance_sheet"),
    path("cash-flow/", views_kpi.cash_flow, name="cash_flow"),
]
