"""The main navigation, in one place."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

MAIN_NAV = [
    (_("Dashboard"), "dashboard", "viewer"),
    (_("Customers"), "customer_list", "viewer"),
    (_("Invoices"), "invoice_list", "viewer"),
    (_("Payments"), "payment_list", "viewer"),
    (_("Reminders"), "reminder_list", "viewer"),
    (_("Reports"), "report_index", "viewer"),
    (_("Ledger"), "journal", "viewer"),
    (_("Settings"), "org_settings", "owner"),
]


def nav_items(request):
    membership = getattr(request, "membership", None)
    if membership is None:
        return []
    items = []
    for label, name, role in MAIN_NAV:
        if not membership.has_role(role):
            continue
        url = reverse(name, kwargs={"org_slug": request.org.slug})
        home = reverse("dashboard", kwargs={"org_slug": request.org.slug})
        current = request.path == url if url == home else request.path.startswith(url)
        items.append({"label": label, "url": url, "current": current})
    return items


# Extra tabs on the owner's settings pages: (label, url name). Apps append in AppConfig.ready();
# templates/accounts/settings_tabs.html reads them as `settings_tabs_extra`.
SETTINGS_TABS_EXTRA = []


def settings_tabs(request):
    """Context processor: the settings tabs other apps registered."""
    return {"settings_tabs_extra": SETTINGS_TABS_EXTRA}
