"""Document URLs. `urlpatterns` is included under /o/<org_slug>/ (PDF, e-mail, public link,
logo); `public_urlpatterns` under /p/ outside any organization prefix (the customer's link)."""

from django.urls import path

from invoicing import views_documents as views
from invoicing.views import quotes as quote_views

urlpatterns = [
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/credit-notes/<int:pk>/pdf/", views.credit_note_pdf, name="credit_note_pdf"),
    path("invoices/<int:pk>/send/", views.invoice_send, name="invoice_send"),
    path("invoices/<int:pk>/link/", views.link_create, name="invoice_link_create"),
    path("invoices/<int:pk>/link/revoke/", views.link_revoke, name="invoice_link_revoke"),
    path("invoices/<int:pk>/deliveries/<int:delivery_pk>/retry/", views.delivery_retry, name="invoice_delivery_retry"),
    path("settings/logo/", views.logo_settings, name="invoice_logo"),
    path("settings/logo/remove/", views.logo_remove, name="invoice_logo_remove"),
    path("settings/logo/image/", views.logo_image, name="invoice_logo_image"),
]

public_urlpatterns = [
    path("q/<str:token>/", quote_views.public_quote, name="public_quote"),
    path("q/<str:token>/pdf", quote_views.public_quote_pdf, name="public_quote_pdf"),
    path("<str:token>/", views.public_invoice, name="public_invoice"),
    path("<str:token>/pdf", views.public_invoice_pdf, name="public_invoice_pdf"),
    path("<str:token>/seen", views.public_invoice_seen, name="public_invoice_seen"),
]
