from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicingConfig(AppConfig):
    name = "invoicing"

    def ready(self):
        from accounts.customer_activity import ACTIVITY_CHECKS
        from accounts.management.commands.seed_demo import DEMO_HOOKS
        from accounts.services import ORG_CREATED_HOOKS
        from accounts.views.customers import CUSTOMER_DETAIL_PANELS
        from invoicing import (
            importers,  # noqa: F401 - registers the invoices import
            importers_opening,  # noqa: F401 - registers the opening-balances import
            importers_writeoffs,  # noqa: F401 - registers the write-offs import
        )
        from invoicing.demo import seed_demo_invoices
        from invoicing.models import Invoice
        from invoicing.setup import seed_invoicing
        from invoicing.views.panels import customer_invoices_panel
        from ledger_site.navigation import SETTINGS_TABS_EXTRA

        ORG_CREATED_HOOKS.append(seed_invoicing)
        from django.urls import reverse

        from accounts.ledger_queries import register_source

        # The ledger's pages, the customer's history and the dashboard link an entry to its invoice
        # (issue 21 point 10); write-offs post with the invoice as their source too.
        register_source("invoicing.invoice", _("Invoice"),
                        lambda org, pk: reverse("invoice_detail", kwargs={"org_slug": org.slug, "pk": pk}))
        CUSTOMER_DETAIL_PANELS.append(customer_invoices_panel)
        from accounts.views.customers import CUSTOMER_LIST_ANNOTATIONS, CUSTOMER_LIST_SUMS
        from invoicing.views.panels import overdue_per_customer, overdue_sums

        CUSTOMER_LIST_ANNOTATIONS["overdue"] = overdue_per_customer
        CUSTOMER_LIST_SUMS["overdue"] = overdue_sums
        # Drafts too: a customer with any invoice can be archived, not deleted (the rows are protected).
        ACTIVITY_CHECKS.append(lambda customer: Invoice.objects.filter(customer=customer).exists())
        SETTINGS_TABS_EXTRA.extend([(_("Invoicing"), "invoice_settings"), (_("Tax rates"), "tax_rate_list"),
                                    (_("Logo"), "invoice_logo")])
        DEMO_HOOKS.append(seed_demo_invoices)
        from invoicing.demo_billing import seed_demo_billing

        DEMO_HOOKS.append(seed_demo_billing)  # items, a recurring schedule, quotes (issue 18)
        from accounts.notices import Sensitive, register
        from invoicing.models import InvoiceSettings

        # The bank details printed on every invoice: a change redirects customers' payments (issue 13).
        register(Sensitive("invoicing_invoicesettings", ("bank_details",), "bank details (invoice settings)",
                           masked=("bank_details",)), InvoiceSettings)
        from invoicing.demo_fx import seed_demo_foreign

        DEMO_HOOKS.append(seed_demo_foreign)  # dollar and pound customers, exchange rates (issue 17)
        from invoicing.demo_languages import seed_demo_languages

        DEMO_HOOKS.append(seed_demo_languages)  # a German and a French customer (issue 17 item 6)
