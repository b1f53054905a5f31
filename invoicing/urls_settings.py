"""The owner's invoicing settings pages under /o/<org_slug>/settings/."""

from django.urls import path

from invoicing.views import settings

urlpatterns = [
    path("tax-rates/", settings.tax_rate_list, name="tax_rate_list"),
    path("tax-rates/<int:pk>/archive/", settings.tax_rate_archive, name="tax_rate_archive"),
    path("invoicing/", settings.invoice_settings, name="invoice_settings"),
]
