import zoneinfo

from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Reminders: policies, the scheduler and the outbox"

    def ready(self):
        from accounts.services import ORG_CREATED_HOOKS
        from accounts.views.customers import CUSTOMER_DETAIL_PANELS
        from invoicing.recurring import LOCAL_TODAY
        from reminders.setup import seed_reminders
        from reminders.views import customer_panel

        ORG_CREATED_HOOKS.append(seed_reminders)
        CUSTOMER_DETAIL_PANELS.append(customer_panel)
        LOCAL_TODAY.append(org_today)  # recurring invoices bill on the organization's own date


def org_today(org_id, now):
    """The organization's date now, in the time zone of its reminder settings (no row: UTC)."""
    from reminders.models import ReminderSettings

    zone = ReminderSettings.objects.filter(organization_id=org_id).values_list("timezone", flat=True).first()
    return now.astimezone(zoneinfo.ZoneInfo(zone or "UTC")).date()
