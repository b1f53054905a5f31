"""Amounts in the ledger's templates: Decimal in, text out, never through float."""

from decimal import Decimal

from django import template

from accounts.money import minor_units, quantum

register = template.Library()


@register.filter
def amount(value, currency):
    """{{ line.amount|amount:"EUR" }} → 1,234.50 (no currency code; None and "" → empty)."""
    if value is None or value == "" or not isinstance(value, Decimal):
        return "" if value in (None, "") else value
    places = minor_units(currency or "")
    exact = value.quantize(quantum(currency or ""))
    sign = "-" if exact < 0 else ""
    return f"{sign}{abs(exact):,.{places}f}"


@register.filter
def money(value, currency):
    """{{ balance|money:"EUR" }} → 1,234.50 EUR"""
    text = amount(value, currency)
    return f"{text} {currency}" if text != "" else "—"
