from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self):
        from accounts.views.customers import CUSTOMER_DETAIL_PANELS
        from ledger_site.navigation import SETTINGS_TABS_EXTRA
        from reports.views import customer_panel

        SETTINGS_TABS_EXTRA.append((_("Reports"), "report_settings"))
        CUSTOMER_DETAIL_PANELS.append(customer_panel)
