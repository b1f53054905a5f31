from django.urls import path

from payments import views, views_bank

urlpatterns = [
    path("", views.payment_list, name="payment_list"),
    path("export.csv", views.payment_export, name="payment_export"),
    path("new/", views.payment_create, name="payment_create"),
    path("<int:pk>/", views.payment_detail, name="payment_detail"),
    path("<int:pk>/apply/", views.payment_apply, name="payment_apply"),
    path("<int:pk>/refund/", views.payment_refund, name="payment_refund"),
    path("<int:pk>/reverse/", views.payment_reverse, name="payment_reverse"),
    path("<int:pk>/settle/", views.payment_settle_short, name="payment_settle_short"),
    path("<int:pk>/receipt.pdf", views.payment_receipt, name="payment_receipt"),
    path("allocations/<int:pk>/unapply/", views.allocation_unapply, name="allocation_unapply"),
    path("credit-notes/<int:pk>/apply/", views.credit_note_apply, name="credit_note_apply"),
    path("invoices/<int:pk>/apply-credit/", views.invoice_apply_credit, name="invoice_apply_credit"),
    path("bank/", views_bank.bank_account_list, name="bank_account_list"),
    path("bank/new/", views_bank.bank_account_create, name="bank_account_create"),
    path("bank/<int:pk>/", views_bank.bank_account_detail, name="bank_account_detail"),
    path("bank/<int:pk>/import/", views_bank.statement_upload, name="statement_upload"),
    path("bank/<int:pk>/reconciliation/", views_bank.bank_reconciliation, name="bank_reconciliation"),
    path("bank/<int:pk>/reconcile/", views_bank.bank_reconcile, name="bank_reconcile"),
    path("bank/imports/<int:pk>/", views_bank.statement_preview, name="statement_preview"),
    path("bank/imports/<int:pk>/commit/", views_bank.statement_commit, name="statement_commit"),
    path("bank/lines/<int:pk>/", views_bank.bank_line_detail, name="bank_line_detail"),
    path("bank/lines/<int:pk>/confirm/", views_bank.bank_line_confirm, name="bank_line_confirm"),
    path("bank/lines/<int:pk>/post/", views_bank.bank_line_post, name="bank_line_post"),
    path("bank/lines/<int:pk>/split/", views_bank.bank_line_split, name="bank_line_split"),
    path("bank/lines/<int:pk>/unmatch/", views_bank.bank_line_unmatch, name="bank_line_unmatch"),
]
