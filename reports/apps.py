from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self):
        from accounts import revaluation
        from accounts.management.commands.seed_demo import DEMO_HOOKS
        from accounts.views.customers import CUSTOMER_DETAIL_PANELS
        from invoicing.hooks import STATEMENT_PDF
        from ledger_site.navigation import SETTINGS_TABS_EXTRA
        from reports.demo import seed_demo_reports
        from reports.revaluation_items import open_documents
        from reports.statements import portal_statement_pdf
        from reports.views.reports import customer_panel

        STATEMENT_PDF["customer"] = portal_statement_pdf
        revaluation.DOCUMENTS = open_documents  # issue 17: the revaluation's per-document breakdown
        SETTINGS_TABS_EXTRA.append((_("Reports"), "report_settings"))
        SETTINGS_TABS_EXTRA.append((_("Report e-mails"), "report_subscriptions"))
        CUSTOMER_DETAIL_PANELS.append(customer_panel)
        DEMO_HOOKS.append(seed_demo_reports)  # after invoicing and payments (apps order in INSTALLED_APPS)
