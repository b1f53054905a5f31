"""Amounts in the ledger's templates: Decimal in, text out, never through float."""

from decimal import Decimal

from django import template

from accounts.money import MINUS, format_amount, money_filter

register = template.Library()


@register.filter
def amount(value, currency):
    """{{ line.amount|amount:"EUR" }} → 1,234.50, −1,234.50 (no currency code; None and "" → empty)."""
    if value is None or value == "" or not isinstance(value, Decimal):
        return "" if value in (None, "") else value
    return format_amount(value, currency or "")


@register.filter
def signed(value):
    """A change with its sign, minus as the amounts write it: 12 → +12, -12 → −12, 0 → +0."""
    if value is None or value == "":
        return ""
    return f"{MINUS}{-value}" if value < 0 else f"+{value}"


register.filter("money", money_filter)  # accounts.money: the one money filter


@register.filter
def rate(value):
    """An exchange rate as people read it (accounts.fx.rate_text): 0.95, 0.006, 150."""
    from accounts.fx import rate_text

    return rate_text(value) if isinstance(value, Decimal) else ("" if value is None else value)


@register.inclusion_tag("ledger/_verification.html", takes_context=True)
def ledger_verification(context):
    """The "Ledger verified ✓ at …" line with the owners' "Verify now" button, for any page of
    an organization (the journal, the trial balance, a dashboard): {% ledger_verification %}"""
    from accounts.models import LedgerHead, Role
    from accounts.permissions import can

    request = context.get("request")
    org = getattr(request, "org", None)
    if org is None:
        return {"verification": None}
    head = LedgerHead.objects.filter(organization=org).only(
        "verified_at", "verified_ok", "verified_message").first()
    return {"verification": head, "can_verify": can(request, Role.OWNER), "org": org, "request": request,
            "csrf_token": context.get("csrf_token")}
