"""Document numbers: assigned when a document is issued, gapless per organization, kind and
(optionally) year. The series row is locked FOR UPDATE inside the issuing transaction, so a
rolled-back issue gives its number back and concurrent issues queue instead of colliding."""

from datetime import date

from invoicing.models import InvoiceSettings, NumberSeries

KINDS = {"invoice": "invoice_prefix", "credit_note": "credit_note_prefix", "late_fee": "late_fee_prefix"}


def format_number(settings: InvoiceSettings, kind: str, year: int, n: int) -> str:
    prefix = getattr(settings, KINDS[kind])
    middle = f"{year}-" if settings.number_includes_year else ""
    return f"{prefix}{middle}{n:0{settings.number_padding}d}"


def take_number(org, kind: str, on: date) -> str:
    settings = InvoiceSettings.objects.get(organization=org)
    year = on.year if settings.reset_yearly else 0
    series, _ = NumberSeries.objects.get_or_create(organization=org, kind=kind, year=year)
    series = NumberSeries.objects.select_for_update().get(pk=series.pk)
    series.last_number += 1
    series.save(update_fields=["last_number"])
    return format_number(settings, kind, on.year, series.last_number)
