"""Demo data for issue 18 (`manage.py seed_demo`, after the demo invoices): a small items
catalogue, a monthly recurring schedule that has billed this month, and three quotes (accepted
and converted, awaiting an answer, a draft). Deterministic, through the real services."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Customer
from invoicing.items import save_item
from invoicing.models import TaxRate
from invoicing.models_recurring import Frequency, RunAction
from invoicing.quotes import convert_to_invoice, decide, save_quote, send_quote
from invoicing.recurring import run_schedule, save_schedule

ITEMS = [  # code, name, unit, EUR price
    ("BOOK-M", "Monthly bookkeeping", "month", "450.00"),
    ("WEB-CARE", "Website care plan", "month", "240.00"),
    ("CONS-H", "Consulting", "h", "120.00"),
    ("DESIGN-H", "Design work", "h", "95.00"),
    ("HOST-S", "Cloud hosting, small", "month", "49.00"),
    ("WORKSHOP", "Training workshop", "person", "290.00"),
]


def seed_demo_billing(org, owner) -> dict:
    customers = list(Customer.objects.filter(organization=org, archived_at__isnull=True, currency="EUR")
                     .order_by("code")[:3])
    if len(customers) < 3:
        return {}
    standard = TaxRate.objects.filter(organization=org, name="Standard").first()
    items = {code: save_item(org, None, {"code": code, "name": name, "description": "", "unit": unit,
                                         "tax_rate": standard}, {"EUR": Decimal(price)})
             for code, name, unit, price in ITEMS}
    today = timezone.localdate()

    def line(code, qty="1", description=None):
        item = items[code]
        return {"description": description or item.name, "quantity": Decimal(qty), "unit": item.unit,
                "unit_price": item.prices.get().unit_price, "tax_rate": standard, "item": item}

    schedule = save_schedule(org, None, {
        "customer": customers[0], "name": f"{customers[0].name}: bookkeeping and hosting",
        "frequency": Frequency.MONTHLY, "interval": 1, "day_of_month": 1, "start_date": today.replace(day=1),
        "end_date": None, "max_count": None, "action": RunAction.ISSUE, "payment_terms_days": 14,
        "reference": "Retainer {month}", "notes": ""},
        [line("BOOK-M", description="Monthly bookkeeping, {month}"), line("HOST-S")], actor=owner)
    run_schedule(schedule.pk, today)

    def quote(customer, lines, days_ago):
        day = today - timedelta(days=days_ago)
        return save_quote(org, None, {"customer": customer, "issue_date": day, "valid_until": day + timedelta(days=30),
                                      "reference": "", "notes": "Prices valid for 30 days."}, lines, actor=owner)

    accepted = send_quote(quote(customers[1], [line("DESIGN-H", "24"), line("WORKSHOP", "6")], 12), owner)
    decide(accepted, True, "203.0.113.10")
    convert_to_invoice(accepted, owner)
    send_quote(quote(customers[2], [line("CONS-H", "16"), line("WEB-CARE")], 3), owner)
    quote(customers[2], [line("CONS-H", "8")], 0)
    return {"items": len(items), "schedules": 1, "quotes": 3}
