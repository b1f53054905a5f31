"""Demo data for issue 17: two customers billed in US dollars and pounds, their invoices, and 200 days
of exchange rates (a deterministic gentle walk), so the rates page, the base-currency aging and
dashboard, and converted late fees have something to show."""

import random
from datetime import timedelta
from decimal import Decimal

from accounts import fx
from accounts.models import Customer, RateSource
from accounts.models_org import today_in
from accounts.services import suggest_customer_code
from invoicing.services import issue_invoice, save_draft

SEED = 17
START = {"USD": Decimal("0.9200"), "GBP": Decimal("1.1700"), "JPY": Decimal("0.006150")}
FOREIGN = [("Harbor Analytics Inc.", "USD", "ap@harboranalytics.example", "401 Pine Street\nSeattle WA"),
           ("Beacon Books Ltd", "GBP", "accounts@beaconbooks.example", "7 Quay Street\nBristol")]


def seed_demo_rates(org, today) -> int:
    rng = random.Random(SEED)
    rows = []
    for code, rate in START.items():
        for back in range(200, -1, -1):
            day = today - timedelta(days=back)
            rate = (rate * (1 + Decimal(rng.randint(-40, 40)) / 10000)).quantize(Decimal("0.000001"))
            if day.weekday() < 5:  # reference rates are published on working days, as the ECB's
                rows.append(fx.RateRow(day, code, rate))
    return fx.save_rates(org, rows, RateSource.ECB, confirm=True)


def seed_demo_foreign(org, owner) -> dict:
    today = today_in(org)
    saved = seed_demo_rates(org, today)
    invoices = 0
    for name, currency, email, address in FOREIGN:
        customer = Customer.objects.create(organization=org, name=name, currency=currency, billing_emails=email,
                                           billing_address=address, payment_terms_days=30,
                                           code=suggest_customer_code(org, name))
        for days_ago, hours, price in [(75, "12", "150.00"), (40, "20", "125.00"), (10, "8", "180.00")]:
            issue = today - timedelta(days=days_ago)
            draft = save_draft(org, None, {"customer": customer, "issue_date": issue,
                                           "due_date": issue + timedelta(days=30)},
                               [{"description": "Analytics retainer" if currency == "USD" else "Editorial services",
                                 "quantity": Decimal(hours), "unit": "h", "unit_price": Decimal(price)}], actor=owner)
            issue_invoice(draft, actor=owner, credit_control=False)
            invoices += 1
    return {"rates": saved, "foreign_invoices": invoices}
