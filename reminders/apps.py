from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Reminders: policies, the scheduler and the outbox"

    def ready(self):
        from accounts.imports import OPTIONS
        from accounts.management.commands.seed_demo import DEMO_HOOKS
        from accounts.services import ORG_CREATED_HOOKS
        from accounts.views.customers import CUSTOMER_DETAIL_PANELS
        from reminders import importers  # registers the disputes import
        from reminders.demo import (
            seed_demo_collections,
            seed_demo_digest,
            seed_demo_one_email_a_day,
            seed_demo_plans,
        )
        from reminders.setup import seed_reminders
        from reminders.views.reminders import customer_panel

        ORG_CREATED_HOOKS.append(seed_reminders)
        if importers.HOLD_OPTION not in OPTIONS:
            OPTIONS.append(importers.HOLD_OPTION)
        DEMO_HOOKS.append(seed_demo_collections)  # after invoicing's and payments' (INSTALLED_APPS order)
        DEMO_HOOKS.append(seed_demo_one_email_a_day)
        DEMO_HOOKS.append(seed_demo_plans)
        DEMO_HOOKS.append(seed_demo_digest)
        self._webhooks()
        from invoicing import hooks
        from reminders.holds import promises_as_of

        hooks.PROMISES_AS_OF = promises_as_of  # reports' pages as of a past day (issue 20)
        CUSTOMER_DETAIL_PANELS.append(customer_panel)
        from invoicing.bulk import register_action
        from reminders.bulk_actions import DISPUTE, REMIND

        register_action("remind", REMIND)  # the invoice list's bulk actions (invoicing never imports reminders)
        register_action("dispute", DISPUTE)

    def _webhooks(self):
        from django.db.models.signals import post_save
        from django.utils.translation import gettext_lazy as _

        from accounts.models import Customer
        from invoicing.hooks import EVENT_BATCH_HOOKS, EVENT_HOOKS
        from ledger_site.navigation import SETTINGS_TABS_EXTRA
        from reminders.webhooks import customer_saved, record_event, record_events

        EVENT_HOOKS.append(record_event)
        EVENT_BATCH_HOOKS.append(record_events)
        from accounts.checkpoints import CHECKPOINT_HOOKS

        # The nightly signed checkpoint (accounts.tasks.checkpoint_all), to endpoints subscribed to it.
        CHECKPOINT_HOOKS.append(lambda org, checkpoint: record_event(org.pk, "ledger.checkpoint", checkpoint))
        post_save.connect(customer_saved, sender=Customer, dispatch_uid="webhooks-customer-saved")
        SETTINGS_TABS_EXTRA.append((_("Webhooks"), "webhook_list"))
