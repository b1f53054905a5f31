from django.urls import path

from payments import views

urlpatterns = [
    path("", views.payment_list, name="payment_list"),
    path("export.csv", views.payment_export, name="payment_export"),
    path("new/", views.payment_create, name="payment_create"),
    path("<int:pk>/", views.payment_detail, name="payment_detail"),
    path("<int:pk>/apply/", views.payment_apply, name="payment_apply"),
    path("<int:pk>/refund/", views.payment_refund, name="payment_refund"),
    path("<int:pk>/reverse/", views.payment_reverse, name="payment_reverse"),
    path("<int:pk>/receipt.pdf", views.payment_receipt, name="payment_receipt"),
    path("allocations/<int:pk>/unapply/", views.allocation_unapply, name="allocation_unapply"),
    path("credit-notes/<int:pk>/apply/", views.credit_note_apply, name="credit_note_apply"),
    path("invoices/<int:pk>/apply-credit/", views.invoice_apply_credit, name="invoice_apply_credit"),
]
