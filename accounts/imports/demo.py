"""The demo's completed import: three customers brought in from a spreadsheet of the old system,
checked and imported through the same job as the Import page (run last by seed_demo, after the
other apps' demo data, so it changes none of theirs)."""

from accounts.imports.jobs import create_job, run_job

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
