"""Money and status display for invoicing templates."""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.money import money_filter

register = template.Library()

STATUS = {
    "draft": (_("Draft"), ""),
    "open": (_("Open"), "badge-info"),
    "partially_paid": (_("Partially paid"), "badge-info"),
    "overdue": (_("Overdue"), "badge-danger"),
    "paid": (_("Paid"), "badge-ok"),
    "written_off": (_("Written off"), "badge-warn"),
    "void": (_("Void"), ""),
}


register.filter("money", money_filter)  # accounts.money: the one money filter


@register.filter
def percent(value):
    """20.0000 → 20; 7.5000 → 7.5"""
    try:
        d = Decimal(value).normalize()
    except (InvalidOperation, TypeError, ValueError):
        return value
    return f"{d:f}"


@register.filter
def qty(value):
    return percent(value)


@register.simple_tag
def status_badge(invoice):
    status = invoice.display_status
    label, css = STATUS.get(status, (status, ""))
    html = format_html('<span class="badge {}" data-status="{}">{}</span>', css, status, label)
    if invoice.status == "issued" and invoice.is_disputed:
        html += format_html(' <span class="badge badge-warn" data-status="disputed">{}</span>', _("Disputed"))
    return html


EVENT_LABELS = {
    "created": _("Created"), "issued": _("Issued"), "voided": _("Voided"), "written_off": _("Written off"),
    "disputed": _("Disputed"), "dispute_resolved": _("Dispute resolved"), "credited": _("Credit note"),
    "payment_applied": _("Payment"), "credit_applied": _("Credit applied"), "allocation_removed": _("Un-applied"),
    "emailed": _("E-mailed"), "email_failed": _("E-mail failed"), "viewed": _("Viewed"), "reminder": _("Reminder"),
    "late_fee": _("Late fee"), "credit_override": _("Credit override"),
}
EVENT_CSS = {"issued": "badge-info", "voided": "", "written_off": "badge-warn", "disputed": "badge-warn",
             "payment_applied": "badge-ok", "credit_applied": "badge-ok", "credited": "badge-info",
             "viewed": "badge-ok", "email_failed": "badge-danger", "reminder": "badge-warn",
             "credit_override": "badge-danger"}


@register.filter
def event_label(kind):
    return EVENT_LABELS.get(kind) or kind.replace("_", " ").capitalize()


@register.filter
def event_css(kind):
    return EVENT_CSS.get(kind, "")


@register.filter
def price(value, currency):
    """A unit price with at least the currency's decimals and no trailing zeros beyond: 85.5 → 85.50,
    0.3330 → 0.333, 1000 → 1,000.00."""
    from accounts.money import minor_units

    try:
        d = Decimal(value).normalize()
    except (InvalidOperation, TypeError, ValueError):
        return value
    places = max(minor_units(currency or ""), -d.as_tuple().exponent if d.as_tuple().exponent < 0 else 0)
    return f"{d:,.{places}f}"


@register.filter
def tax_value(value):
    """A line's tax rate as the option value it selects: a pk, a TaxRate, None or ""."""
    value = getattr(value, "pk", value)
    return "" if value in (None, "") else str(value)
