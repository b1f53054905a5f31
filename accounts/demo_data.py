"""Names and terms for the demo organization: varied, plausible, deterministic."""

import random
from decimal import Decimal

FIRST = ["Northwind", "Bluebird", "Harbor", "Summit", "Juniper", "Cedar", "Lighthouse", "Meridian",
         "Granite", "Willow", "Copper", "Falcon", "Orchard", "Riverside", "Silverline", "Keystone",
         "Evergreen", "Atlas", "Beacon", "Maple", "Redwood", "Sterling", "Horizon", "Oakridge",
         "Pioneer", "Crescent", "Aurora", "Bridgeway", "Clearwater", "Fairfield"]
SECOND = ["Bakery", "Logistics", "Dental Care", "Architects", "Print Shop", "Consulting", "Florists",
          "Motors", "Brewing Co.", "Design Studio", "Legal LLP", "Outfitters", "Veterinary Clinic",
          "Coffee Roasters", "Builders", "Analytics", "Physiotherapy", "Catering", "Books", "Labs"]
PEOPLE = ["Anna Berg", "Luis Ortega", "Mei Tanaka", "Samuel Okafor", "Clara Novak", "Jonas Weber",
          "Priya Raman", "Tom Hughes", "Ines Duarte", "Oskar Lind", "Fatima Zahra", "Marco Rossi"]
STREETS = ["Harbour Road", "Mill Lane", "King Street", "Station Square", "Elm Avenue", "Quay Street"]
CITIES = ["Dublin", "Rotterdam", "Lyon", "Porto", "Gothenburg", "Leipzig", "Bologna", "Ghent"]
TAGS = ["wholesale", "retail", "eu", "key-account", "services", "new"]


def demo_customers(count: int = 50, seed: int = 7):
    rng = random.Random(seed)
    names = set()
    while len(names) < count:
        names.add(f"{rng.choice(FIRST)} {rng.choice(SECOND)}")
    for name in sorted(names):
        person = rng.choice(PEOPLE)
        domain = name.lower().replace(" ", "").replace(".", "")[:18] + ".example"
        yield {
            "name": name,
            "contact_person": person,
            "billing_emails": f"accounts@{domain}",
            "phone": f"+353 1 {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
            "billing_address": f"{rng.randint(1, 180)} {rng.choice(STREETS)}\n{rng.choice(CITIES)}",
            "payment_terms_days": rng.choice([7, 14, 14, 30, 30, 30, 45, 60]),
            "credit_limit": Decimal(rng.choice([0, 2500, 5000, 10000, 25000])),
            "tags": ", ".join(sorted(rng.sample(TAGS, rng.randint(0, 2)))),
        }
