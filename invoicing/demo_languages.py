"""Demo data for issue 17 item 6: a German-language and a French-language customer with invoices, so
their PDFs, e-mails, reminders and public page show the customer's language."""

from datetime import timedelta
from decimal import Decimal

from accounts.models import Customer
from accounts.models_org import today_in
from accounts.services import suggest_customer_code
from invoicing.services import issue_invoice, save_draft

CUSTOMERS = [
    # name, language, e-mail, address, line description
    ("Brauhaus Lindner GmbH", "de", "buchhaltung@brauhaus-lindner.example", "Lindenstraße 4\n80331 München",
     "Beratung Warenwirtschaft"),
    ("Atelier Moreau SARL", "fr", "compta@atelier-moreau.example", "14 rue des Tanneurs\n69001 Lyon",
     "Conseil en gestion des stocks"),
]


def seed_demo_languages(org, owner) -> dict:
    today = today_in(org)
    invoices = 0
    for name, language, email, address, description in CUSTOMERS:
        customer = Customer.objects.create(organization=org, name=name, currency="EUR", billing_emails=email,
                                           billing_address=address, payment_terms_days=30, language=language,
                                           code=suggest_customer_code(org, name))
        for days_ago, hours, price in [(45, "6", "120.00"), (12, "9.5", "120.00")]:  # one overdue, one not yet
            issue = today - timedelta(days=days_ago)
            draft = save_draft(org, None, {"customer": customer, "issue_date": issue,
                                           "due_date": issue + timedelta(days=30)},
                               [{"description": description, "quantity": Decimal(hours), "unit": "h",
                                 "unit_price": Decimal(price)}], actor=owner)
            issue_invoice(draft, actor=owner, credit_control=False)
            invoices += 1
    return {"language_customers": len(CUSTOMERS), "language_invoices": invoices}
