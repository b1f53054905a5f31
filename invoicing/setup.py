"""What a new organization gets for invoicing: settings and two common tax rates."""

from decimal import Decimal

from invoicing.models import InvoiceSettings, TaxRate


def seed_invoicing(org) -> None:
    InvoiceSettings.objects.create(organization=org)
    TaxRate.objects.bulk_create([
        TaxRate(organization=org, name="Standard", percent=Decimal("20")),
        TaxRate(organization=org, name="Zero-rated", percent=Decimal("0")),
    ])
