from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations, people, customers and the ledger"

    def ready(self):
        from accounts import signals  # noqa: F401
        from accounts.chart import seed_chart
        from accounts.customer_activity import ACTIVITY_CHECKS
        from accounts.models import JournalLine
        from accounts.services import ORG_CREATED_HOOKS
        from accounts.views import ledger as _ledger_pages  # noqa: F401 - adds the customer page's ledger panels
        from ledger_site import checks as _site_checks  # noqa: F401 - registers the secret-key check

        ORG_CREATED_HOOKS.append(seed_chart)
        ACTIVITY_CHECKS.append(lambda customer: JournalLine.objects.filter(customer=customer).exists())
