"""Invoicing's URLs, in one module. `urlpatterns` is included under /o/<org_slug>/ (invoices and
credit notes, their documents, the owner's invoicing settings); `public_urlpatterns` under /p/,
outside any organization prefix (the customer's link: invoicing.public sets the tenant)."""

from django.urls import include, path

from invoicing.views import bulk, detail, documents, editor, einvoice, items, lists, quotes, recurring, settings

invoice_patterns = [
    path("", lists.invoice_list, name="invoice_list"),
    path("export.csv", lists.invoice_export, name="invoice_export"),
    path("bulk/", bulk.invoice_bulk, name="invoice_bulk"),
    path("bulk/jobs/<int:pk>/", bulk.invoice_bulk_job, name="invoice_bulk_job"),
    path("bulk/jobs/<int:pk>/outcomes.csv", bulk.invoice_bulk_job_csv, name="invoice_bulk_job_csv"),
    path("new/", editor.invoice_create, name="invoice_create"),
    path("<int:pk>/", detail.invoice_detail, name="invoice_detail"),
    path("<int:pk>/edit/", editor.invoice_edit, name="invoice_edit"),
    path("<int:pk>/delete/", detail.invoice_delete, name="invoice_delete"),
    path("<int:pk>/issue/", detail.invoice_issue, name="invoice_issue"),
    path("<int:pk>/void/", detail.invoice_void, name="invoice_void"),
    path("<int:pk>/write-off/", detail.invoice_write_off, name="invoice_write_off"),
    path("<int:pk>/dispute/", detail.invoice_dispute, name="invoice_dispute"),
    path("<int:pk>/dispute/resolve/", detail.invoice_resolve_dispute, name="invoice_resolve_dispute"),
    path("<int:pk>/duplicate/", detail.invoice_duplicate, name="invoice_duplicate"),
    path("<int:pk>/credit/", detail.invoice_credit, name="invoice_credit"),
    path("<int:pk>/e-invoice/", einvoice.einvoice_page, name="einvoice_page"),
    path("<int:pk>/e-invoice/facturx.pdf", einvoice.einvoice_pdf, name="einvoice_pdf"),
    path("<int:pk>/e-invoice/cii.xml", einvoice.einvoice_xml, name="einvoice_xml"),
    path("<int:pk>/e-invoice/ubl.xml", einvoice.einvoice_ubl, name="einvoice_ubl"),
    path("items/", items.item_list, name="item_list"),
    path("items/new/", items.item_create, name="item_create"),
    path("items/lookup/", items.item_lookup, name="item_lookup"),
    path("items/<int:pk>/edit/", items.item_edit, name="item_edit"),
    path("items/<int:pk>/archive/", items.item_archive, name="item_archive"),
    path("recurring/", recurring.schedule_list, name="schedule_list"),
    path("recurring/new/", recurring.schedule_create, name="schedule_create"),
    path("recurring/<int:pk>/", recurring.schedule_detail, name="schedule_detail"),
    path("recurring/<int:pk>/edit/", recurring.schedule_edit, name="schedule_edit"),
    path("recurring/<int:pk>/pause/", recurring.schedule_pause, name="schedule_pause"),
    path("recurring/<int:pk>/run/", recurring.schedule_run, name="schedule_run"),
    path("quotes/", quotes.quote_list, name="quote_list"),
    path("quotes/new/", quotes.quote_create, name="quote_create"),
    path("quotes/<int:pk>/", quotes.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/edit/", quotes.quote_edit, name="quote_edit"),
    path("quotes/<int:pk>/send/", quotes.quote_send, name="quote_send"),
    path("quotes/<int:pk>/convert/", quotes.quote_convert, name="quote_convert"),
    path("quotes/<int:pk>/schedule/", quotes.quote_schedule, name="quote_schedule"),
    path("quotes/<int:pk>/email/", quotes.quote_email, name="quote_email"),
    path("quotes/<int:pk>/pdf/", quotes.quote_pdf, name="quote_pdf"),
    path("credit-notes/", lists.credit_note_list, name="credit_note_list"),
    path("credit-notes/<int:pk>/", lists.credit_note_detail, name="credit_note_detail"),
    path("credit-notes/new/<int:customer_pk>/", lists.credit_note_create, name="credit_note_create"),
    path("credit-notes/<int:pk>/e-invoice/", einvoice.credit_note_einvoice_page, name="credit_note_einvoice_page"),
    path("credit-notes/<int:pk>/e-invoice/facturx.pdf", einvoice.credit_note_einvoice_pdf,
         name="credit_note_einvoice_pdf"),
    path("credit-notes/<int:pk>/e-invoice/cii.xml", einvoice.credit_note_einvoice_xml,
         name="credit_note_einvoice_xml"),
    path("credit-notes/<int:pk>/e-invoice/ubl.xml", einvoice.credit_note_einvoice_ubl,
         name="credit_note_einvoice_ubl"),
    # Documents: PDF, e-mail, public link, delivery retry.
    path("<int:pk>/pdf/", documents.invoice_pdf, name="invoice_pdf"),
    path("credit-notes/<int:pk>/pdf/", documents.credit_note_pdf, name="credit_note_pdf"),
    path("<int:pk>/send/", documents.invoice_send, name="invoice_send"),
    path("<int:pk>/link/", documents.link_create, name="invoice_link_create"),
    path("<int:pk>/link/revoke/", documents.link_revoke, name="invoice_link_revoke"),
    path("<int:pk>/deliveries/<int:delivery_pk>/retry/", documents.delivery_retry, name="invoice_delivery_retry"),
]

settings_patterns = [
    path("tax-rates/", settings.tax_rate_list, name="tax_rate_list"),
    path("tax-rates/<int:pk>/archive/", settings.tax_rate_archive, name="tax_rate_archive"),
    path("tax-rates/propose/", settings.tax_rate_propose, name="tax_rate_propose"),
    path("invoicing/sample.pdf", settings.invoice_sample_pdf, name="invoice_sample_pdf"),
    path("invoicing/", settings.invoice_settings, name="invoice_settings"),
    path("logo/", documents.logo_settings, name="invoice_logo"),
    path("logo/remove/", documents.logo_remove, name="invoice_logo_remove"),
    path("logo/image/", documents.logo_image, name="invoice_logo_image"),
]

urlpatterns = [
    path("invoices/", include(invoice_patterns)),
    path("settings/", include(settings_patterns)),
]

public_urlpatterns = [
    path("q/<str:token>/", quotes.public_quote, name="public_quote"),
    path("q/<str:token>/pdf", quotes.public_quote_pdf, name="public_quote_pdf"),
    path("<str:token>/", documents.public_invoice, name="public_invoice"),
    path("<str:token>/pdf", documents.public_invoice_pdf, name="public_invoice_pdf"),
    path("<str:token>/seen", documents.public_invoice_seen, name="public_invoice_seen"),
]
