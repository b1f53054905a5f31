from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments, allocation, refunds and reversals"

    def ready(self):
        from accounts.views.customers import CUSTOMER_DETAIL_PANELS
        from payments.panels import customer_payments_panel

        CUSTOMER_DETAIL_PANELS.append(customer_payments_panel)
