from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self):
        from ledger_site.navigation import SETTINGS_TABS_EXTRA

        SETTINGS_TABS_EXTRA.append((_("Reports"), "report_settings"))
