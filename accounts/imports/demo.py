"""The demo's completed imports: three customers brought in from a spreadsheet of the old system,
then what they owed when the books moved (opening balances), each checked and imported through
the same job as the Import page (run last by seed_demo, after the other apps' demo data, so it
changes none of theirs)."""

from datetime import timedelta

from accounts.imports.jobs import create_job, run_job
from accounts.models_org import today_in

DEMO_FILE = (
    "Account;Company;E-mail;Terms\r\n"
    "000812;Ballast Quay Chandlery;accounts@ballastquay.example;14\r\n"
    "000815;Corrib Kayak Hire;office@corribkayak.example;30\r\n"
    "000917;Slievemore Bakery;orders@slievemore.example;7\r\n"
).encode("cp1252")
DEMO_MAPPING = {"code": "Account", "name": "Company", "billing_emails": "E-mail", "payment_terms_days": "Terms"}


def seed_demo_import(org, owner):
    job = create_job(org, "customers", "old-system-customers.csv", DEMO_FILE, actor=owner)
    job.mapping = DEMO_MAPPING
    job.save(update_fields=["mapping"])
    run_job(job, commit=False, actor=owner)
    run_job(job, commit=True, actor=owner)
    return job


def seed_demo_opening_balances(org, owner):
    """Two open items and a credit, dated within the last two months (the demo's period lock
    closes older months afterwards); the reminders of the overdue ones held for two weeks."""
    today = today_in(org)
    rows = [("000812", today - timedelta(days=50), "1480.00", "old ledger 2291"),
            ("000815", today - timedelta(days=20), "265.50", ""),
            ("000917", today - timedelta(days=35), "-40.00", "overpayment")]
    data = ("customer,date,amount,reference\r\n"
            + "".join(f"{code},{day.isoformat()},{amount},{ref}\r\n" for code, day, amount, ref in rows)).encode()
    job = create_job(org, "opening_balances", "old-system-balances.csv", data, actor=owner)
    job.mapping = {"customer_code": "customer", "date": "date", "amount": "amount", "reference": "reference"}
    # The option reminders offers (accounts.imports.OPTIONS): the items already overdue in the old
    # books get no reminder for two weeks, while the team looks at them.
    job.options = {"hold_reminders_until": (today + timedelta(days=14)).isoformat()}
    job.save(update_fields=["mapping", "options"])
    run_job(job, commit=False, actor=owner)
    run_job(job, commit=True, actor=owner)
    return job


def seed_demo_drafts(org, owner):
    """An invoice that was still a draft in the old system: it stays a draft here (no number, nothing
    posted), ready to be issued (the invoices import's `status` column)."""
    today = today_in(org)
    data = ("number,customer_code,issue_date,description,quantity,unit_price,tax,status\r\n"
            f"OLD-7781,000815,{today.isoformat()},Kayak hire (season deposit),4,65.00,0,draft\r\n"
            f"OLD-7781,000815,{today.isoformat()},Paddles,4,12.50,0,draft\r\n").encode()
    job = create_job(org, "invoices", "old-system-drafts.csv", data, actor=owner)
    job.mapping = {"number": "number", "customer_code": "customer_code", "issue_date": "issue_date",
                   "description": "description", "quantity": "quantity", "unit_price": "unit_price",
                   "tax_percent": "tax", "status": "status"}
    job.save(update_fields=["mapping"])
    run_job(job, commit=False, actor=owner)
    run_job(job, commit=True, actor=owner)
    return job
