from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations, people, customers and the ledger"

    def ready(self):
        from accounts import importers, sign_ins, signals  # noqa: F401 - importers registers the customers import; sign_ins records sign-ins
        from accounts.chart import seed_chart
        from accounts.customer_activity import ACTIVITY_CHECKS
        from accounts.models import JournalLine
        from accounts.services import ORG_CREATED_HOOKS
        from accounts.views import ledger as _ledger_pages  # noqa: F401 - adds the customer page's ledger panels
        from ledger_site import checks as _site_checks  # noqa: F401 - registers the secret-key check
        from ledger_site.navigation import SETTINGS_TABS_EXTRA

        ORG_CREATED_HOOKS.append(seed_chart)
        SETTINGS_TABS_EXTRA.extend([(_("Period lock"), "period_lock"), (_("Audit log"), "audit_log"),
                                    (_("Verification"), "verification_history"),
                                    (_("Credit terms"), "credit_terms_pending")])
        from accounts.views.audit import customer_audit_panel
        from accounts.views.customers import CUSTOMER_DETAIL_PANELS

        CUSTOMER_DETAIL_PANELS.append(customer_audit_panel)
        from accounts import notices as _notices  # noqa: F401 - e-mails owners about changed billing e-mails
        SETTINGS_TABS_EXTRA.append((_("Import"), "import_list"))
        SETTINGS_TABS_EXTRA.append((_("API keys"), "api_key_list"))
        SETTINGS_TABS_EXTRA.append((_("Exchange rates"), "exchange_rates"))
        ACTIVITY_CHECKS.append(lambda customer: JournalLine.objects.filter(customer=customer).exists())
