from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations, people, customers and the ledger"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from accounts import signals  # noqa: F401
        from accounts.chart import seed_chart
        from accounts.customer_activity import ACTIVITY_CHECKS
        from accounts.models import JournalLine
        from accounts.services import ORG_CREATED_HOOKS
        from accounts.views import ledger as _ledger_pages  # noqa: F401 - adds the customer page's ledger panels
        from ledger_site.navigation import SETTINGS_TABS_EXTRA

        ORG_CREATED_HOOKS.append(seed_chart)
        SETTINGS_TABS_EXTRA.append((_("API keys"), "api_key_list"))
        ACTIVITY_CHECKS.append(lambda customer: JournalLine.objects.filter(customer=customer).exists())
