from django.urls import path

from payments.views import bank, payments

urlpatterns = [
    path("", payments.payment_list, name="payment_list"),
    path("export.csv", payments.payment_export, name="payment_export"),
    path("bulk/", payments.payment_bulk, name="payment_bulk"),
    path("new/", payments.payment_create, name="payment_create"),
    path("<int:pk>/", payments.payment_detail, name="payment_detail"),
    path("<int:pk>/apply/", payments.payment_apply, name="payment_apply"),
    path("<int:pk>/refund/", payments.payment_refund, name="payment_refund"),
    path("<int:pk>/reverse/", payments.payment_reverse, name="payment_reverse"),
    path("<int:pk>/settle/", payments.payment_settle_short, name="payment_settle_short"),
    path("<int:pk>/receipt.pdf", payments.payment_receipt, name="payment_receipt"),
    path("allocations/<int:pk>/unapply/", payments.allocation_unapply, name="allocation_unapply"),
    path("credit-notes/<int:pk>/apply/", payments.credit_note_apply, name="credit_note_apply"),
    path("invoices/<int:pk>/apply-credit/", payments.invoice_apply_credit, name="invoice_apply_credit"),
    path("bank/", bank.bank_account_list, name="bank_account_list"),
    path("bank/new/", bank.bank_account_create, name="bank_account_create"),
    path("bank/<int:pk>/", bank.bank_account_detail, name="bank_account_detail"),
    path("bank/<int:pk>/import/", bank.statement_upload, name="statement_upload"),
    path("bank/<int:pk>/reconciliation/", bank.bank_reconciliation, name="bank_reconciliation"),
    path("bank/<int:pk>/reconcile/", bank.bank_reconcile, name="bank_reconcile"),
    path("bank/imports/<int:pk>/", bank.statement_preview, name="statement_preview"),
    path("bank/imports/<int:pk>/commit/", bank.statement_commit, name="statement_commit"),
    path("bank/lines/<int:pk>/", bank.bank_line_detail, name="bank_line_detail"),
    path("bank/lines/<int:pk>/confirm/", bank.bank_line_confirm, name="bank_line_confirm"),
    path("bank/lines/<int:pk>/post/", bank.bank_line_post, name="bank_line_post"),
    path("bank/lines/<int:pk>/split/", bank.bank_line_split, name="bank_line_split"),
    path("bank/lines/<int:pk>/unmatch/", bank.bank_line_unmatch, name="bank_line_unmatch"),
]
