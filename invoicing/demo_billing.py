"""Demo data for issue 18 (`manage.py seed_demo`, after the demo invoices): a small items
catalogue, a monthly recurring schedule that has billed this month, three quotes (accepted and
converted to an invoice and to a recurring schedule, awaiting an answer, a draft), and an EU
reverse-charge invoice that offers its Peppol UBL and Factur-X e-invoices (the organization's and
that customer's endpoint ids, a reverse-charge tax rate). Deterministic, through the real services."""

from datetime import timedelta
from decimal import Decimal

from accounts.models import Customer
from invoicing.items import save_item
from invoicing.models import TaxRate
from invoicing.models_recurring import Frequency, RunAction
from invoicing.quotes import convert_to_invoice, convert_to_schedule, decide, save_quote, send_quote
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
    today = org.today()

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
    convert_to_schedule(accepted, owner)  # the workshop series, billed monthly (drafts for review)
    send_quote(quote(customers[2], [line("CONS-H", "16"), line("WEB-CARE")], 3), owner)
    quote(customers[2], [line("CONS-H", "8")], 0)
    _reverse_charge_invoice(org, owner, customers[1], line("CONS-H", "12", "Consulting, cross-border (EU B2B)"))
    return {"items": len(items), "schedules": 2, "quotes": 3, "einvoices": 1}


def _reverse_charge_invoice(org, owner, customer, line):
    """An invoice to an EU business customer under reverse charge, complete for Peppol BIS 3.0."""
    from invoicing.services import issue_invoice, save_draft

    org.endpoint_scheme, org.endpoint_id = "9935", org.tax_id or "IE1234567T"
    org.save(update_fields=["endpoint_scheme", "endpoint_id"])
    customer.country, customer.tax_id = "DE", customer.tax_id or "DE811907980"
    customer.billing_address = "Hafenstraße 4\n20457 Hamburg"  # a German business customer
    customer.endpoint_scheme, customer.endpoint_id = "9930", customer.tax_id
    customer.save(update_fields=["country", "tax_id", "billing_address", "endpoint_scheme", "endpoint_id"])
    reverse, _ = TaxRate.objects.get_or_create(organization=org, name="EU reverse charge", defaults={
        "percent": Decimal(0), "category": "AE",
        "exemption_reason": "Reverse charge: VAT to be accounted for by the recipient, Article 196 of "
                            "Council Directive 2006/112/EC"})
    today = org.today()
    draft = save_draft(org, None, {"customer": customer, "issue_date": today,
                                   "due_date": today + timedelta(days=customer.payment_terms_days),
                                   "reference": "PO-DE-2041", "discount_percent": Decimal(0), "notes": "",
                                   "terms": ""}, [{**line, "tax_rate": reverse}], actor=owner)
    return issue_invoice(draft, actor=owner, credit_control=False)
