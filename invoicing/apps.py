from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"

    def ready(self):
        from accounts.services import ORG_CREATED_HOOKS
        from invoicing.setup import seed_invoicing

        ORG_CREATED_HOOKS.append(seed_invoicing)
