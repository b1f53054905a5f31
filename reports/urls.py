"""Reports under /o/<org_slug>/reports/ (the dashboard itself is the organization's home: accounts.urls_org)."""

from django.urls import path

from reports import views

urlpatterns = [
    path("", views.report_index, name="report_index"),
    path("settings/", views.report_settings, name="report_settings"),
    path("aging/", views.aging_report, name="aging_report"),
    path("aging/customers/<int:pk>/", views.aging_cell, name="aging_cell"),
    path("aging/export.<str:fmt>", views.aging_export, name="aging_export"),
    path("open-items/", views.open_items_report, name="open_items_report"),
]
