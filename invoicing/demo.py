"""Demo invoices for `manage.py seed_demo`: a year of plausible invoicing for "Demo Co".

Deterministic (one seeded random.Random) and fast: everything goes through the real services,
so the ledger, numbering and timelines are exactly what the product would have produced, with
dates spread over the past twelve months. Payments are added by the payments app's own hook.
"""

import random
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from decimal import Decimal
from unittest import mock

from django.utils import timezone

from accounts.models import Customer
from accounts.models_org import today_in
from invoicing.credit_notes import credit_invoice_lines
from invoicing.models import InvoiceSettings, TaxRate
from invoicing.services import issue_invoice, save_draft, set_dispute, void_invoice, write_off

SEED = 20240611
CATALOG = [  # description, unit, price range (low, high), typical quantity range
    ("Monthly bookkeeping", "month", (250, 900), (1, 1)),
    ("Website maintenance", "month", (120, 480), (1, 1)),
    ("Consulting", "h", (85, 160), (2, 24)),
    ("Design work", "h", (70, 120), (3, 30)),
    ("Photography session", "day", (450, 1200), (1, 3)),
    ("Printed brochures (A5, 500 pcs)", "box", (95, 180), (1, 6)),
    ("Software licence", "seat", (12, 49), (3, 40)),
    ("On-site support", "visit", (120, 260), (1, 4)),
    ("Delivery", "", (15, 60), (1, 1)),
    ("Training workshop", "person", (150, 390), (2, 12)),
    ("Cloud hosting", "month", (35, 290), (1, 3)),
    ("Copywriting", "page", (60, 140), (1, 10)),
]
REFERENCES = ["PO-{n}", "Order {n}", "", "", "Q{q}-{n}", "Project {n}"]
VOID_REASONS = ["Issued to the wrong customer", "Duplicate of an earlier invoice", "Order cancelled before delivery"]
CREDIT_REASONS = ["Goods returned", "Service not delivered in full", "Price adjustment agreed", "Damaged in transit"]
DISPUTE_REASONS = ["Customer says the hours are too high", "Delivery not received", "Waiting for a corrected PO"]


def _at(day, hour=10, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@contextmanager
def _clock(day, hour):
    """Replay history: what happens inside is stamped (timeline, issued at) at that day and hour.
    The timeline is append-only in the database, so it is written at the right time rather than
    moved there afterwards."""
    at = _at(day, hour)
    with mock.patch.object(timezone, "now", lambda: at):
        yield


def seed_demo_invoices(org, owner, months: int = 12, per_month: int = 16) -> dict:
    rng = random.Random(SEED)
    today = today_in(org)
    customers = list(Customer.objects.filter(organization=org, archived_at__isnull=True).order_by("code"))
    if not customers:
        return {}
    rates = {r.name: r for r in TaxRate.objects.filter(organization=org)}
    standard = rates.get("Standard") or next(iter(rates.values()), None)
    zero = rates.get("Zero-rated")
    settings = InvoiceSettings.objects.get(organization=org)
    if not settings.bank_details:
        settings.bank_details = "IBAN IE29 AIBK 9311 5212 3456 78 · BIC AIBKIE2D\nDemo Co Ltd, Dock Street branch"
        settings.default_terms = "Payment within the agreed terms. Late payments may incur a fee."
        settings.save(update_fields=["bank_details", "default_terms"])
    regulars = rng.sample(customers, k=min(len(customers), 18))  # most business comes from a few customers

    dates = []
    start = today - timedelta(days=months * 30)
    for m in range(months):
        for _ in range(per_month + rng.randint(-4, 4)):
            dates.append(start + timedelta(days=m * 30 + rng.randint(0, 29)))
    dates = sorted(d for d in dates if d <= today)

    counts = {"issued": 0, "void": 0, "credit_notes": 0, "written_off": 0, "disputed": 0, "drafts": 0}
    for day in dates:
        customer = rng.choice(regulars if rng.random() < 0.8 else customers)
        with _clock(day - timedelta(days=rng.randint(0, 2)), 9):
            invoice = _draft(rng, org, owner, customer, day, standard, zero)
        with _clock(day, 10):
            invoice = issue_invoice(invoice, actor=owner, credit_control=False)  # a replay: payments come later
        counts["issued"] += 1
        age = (today - day).days
        roll = rng.random()
        if roll < 0.03:
            when = min(today, day + timedelta(days=rng.randint(1, 5)))
            with _clock(when, 15):
                void_invoice(invoice, rng.choice(VOID_REASONS), actor=owner, effective_date=when)
            counts["void"] += 1
        elif roll < 0.09:
            when = min(today, day + timedelta(days=rng.randint(3, 20)))
            line = invoice.lines.order_by("-quantity").first()
            qty = max(Decimal(1), (line.quantity / 2).quantize(Decimal(1)))
            with _clock(when, 11):
                credit_invoice_lines(invoice, {line.pk: min(qty, line.quantity)}, rng.choice(CREDIT_REASONS),
                                     actor=owner, issue_date=when)
            counts["credit_notes"] += 1
        elif roll < 0.11 and age > 150:
            when = day + timedelta(days=rng.randint(90, 140))
            invoice.refresh_from_db()
            with _clock(when, 16):
                write_off(invoice, invoice.amount_due, "Customer ceased trading; not recoverable", actor=owner,
                          effective_date=when)
            counts["written_off"] += 1
        elif roll < 0.14 and 10 < age < 120:
            # Disputed a few days after it fell due, so the dashboard and open items as of a past day
            # show it in dispute from then on (the hold's history, issue 20).
            with _clock(min(today, invoice.due_date + timedelta(days=5)), 10):
                set_dispute(invoice, rng.choice(DISPUTE_REASONS), actor=owner)
            counts["disputed"] += 1
    for n in range(8):  # work in progress: recent drafts
        day = today - timedelta(days=rng.randint(0, 10))
        with _clock(day, 9 + n % 8):
            _draft(rng, org, owner, rng.choice(regulars), day, standard, zero)
        counts["drafts"] += 1
    return counts


def _draft(rng, org, owner, customer, day, standard, zero):
    lines = []
    for description, unit, (low, high), (qlow, qhigh) in rng.sample(CATALOG, k=rng.choice([1, 1, 2, 2, 3, 4])):
        price = Decimal(rng.randint(low * 100, high * 100)) / 100
        if price > 100:
            price = price.quantize(Decimal(5))  # round prices, as people quote them
        tax = zero if (zero is not None and rng.random() < 0.1) else standard
        lines.append({"description": description, "quantity": Decimal(rng.randint(qlow, qhigh)), "unit": unit,
                      "unit_price": price, "discount_percent": Decimal(rng.choice([0, 0, 0, 0, 5, 10])),
                      "tax_rate": tax})
    n = rng.randint(1000, 9999)
    reference = rng.choice(REFERENCES).format(n=n, q=(day.month - 1) // 3 + 1)
    fields = {"customer": customer, "issue_date": day,
              "due_date": day + timedelta(days=customer.payment_terms_days), "reference": reference,
              "discount_percent": Decimal(rng.choice([0] * 9 + [5])), "notes": "", "terms": ""}
    return save_draft(org, None, fields, lines, actor=owner)
