from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Reminders: policies, the scheduler and the outbox"

    def ready(self):
        from accounts.services import ORG_CREATED_HOOKS
        from accounts.views.customers import CUSTOMER_DETAIL_PANELS
        from reminders.setup import seed_reminders
        from reminders.views import customer_panel

        ORG_CREATED_HOOKS.append(seed_reminders)
        CUSTOMER_DETAIL_PANELS.append(customer_panel)
