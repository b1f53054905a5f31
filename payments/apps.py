from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments, allocation, refunds and reversals"

    def ready(self):
        from accounts.management.commands.seed_demo import DEMO_HOOKS
        from accounts.views.customers import CUSTOMER_DETAIL_PANELS
        from invoicing.hooks import ALLOCATIONS
        from payments import importers  # noqa: F401 - registers the payments import
        from payments.allocation import allocations_of_credit_note, allocations_of_invoice, apply
        from payments.bank_demo import seed_demo_bank
        from payments.demo import seed_demo_cross_currency, seed_demo_payments
        from payments.panels import customer_payments_panel

        ALLOCATIONS.apply = apply
        ALLOCATIONS.of_invoice = allocations_of_invoice
        ALLOCATIONS.of_credit_note = allocations_of_credit_note
        CUSTOMER_DETAIL_PANELS.append(customer_payments_panel)
        from django.urls import reverse
        from django.utils.translation import gettext_lazy as _

        from accounts.ledger_queries import register_source

        # An entry links to its payment (issue 21 point 10); the others are named, not linked
        # (their page is reached through the payment).
        register_source("payments.payment", _("Payment"),
                        lambda org, pk: reverse("payment_detail", kwargs={"org_slug": org.slug, "pk": pk}))
        register_source("payments.refund", _("Refund"))
        register_source("payments.allocation", _("Exchange difference"))
        register_source("payments.bankline", _("Bank line"))
        # After the invoicing hook (invoicing is earlier in INSTALLED_APPS): it pays those invoices.
        DEMO_HOOKS.append(seed_demo_payments)
        DEMO_HOOKS.append(seed_demo_bank)  # after the payments: matches some of what is still open
        DEMO_HOOKS.append(seed_demo_cross_currency)  # a euro payment of a dollar invoice, a revaluation (issue 17)
        from accounts.notices import Sensitive, register
        from payments.models_bank import BankAccount

        # The organization's own accounts (payments migration 0008 logs them in the audit log).
        register(Sensitive("payments_bankaccount", ("iban", "name", "currency"), "bank account", masked=("iban",),
                           rows=True, name_field="name"), BankAccount)
