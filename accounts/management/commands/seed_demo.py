from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo_data import demo_customers
from accounts.imports.demo import seed_demo_drafts, seed_demo_import, seed_demo_opening_balances
from accounts.models import Customer, User
from accounts.org_directory import organization_for_slug
from accounts.services import create_organization, suggest_customer_code
from ledger_site.tenancy import tenant_context

DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-ledger-2026"  # noqa: S105 - printed on purpose: it is the demo login
DEMO_HOOKS = []  # callables(org, owner): other apps add invoices, payments, reminders


class Command(BaseCommand):
    help = "Create the demo organization “Demo Co” with an owner and ~50 customers (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            owner = User.objects.filter(email=DEMO_EMAIL).first()
            if owner is None:
                owner = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, full_name="Dana Owner")
            org = organization_for_slug("demo")
            if org is None:
                org = create_organization(owner, name="Demo Co", slug="demo", base_currency="EUR",
                                          country="IE", address="12 Dock Street\nDublin 2",
                                          tax_id="IE1234567T")
                with tenant_context(org, owner):
                    for fields in demo_customers():
                        code = suggest_customer_code(org, fields["name"])
                        Customer.objects.create(organization=org, code=code, currency="EUR", **fields)
                    for hook in DEMO_HOOKS:
                        hook(org, owner)
                    seed_demo_import(org, owner)  # a completed import on Settings → Import
                    seed_demo_opening_balances(org, owner)  # and the balances those customers brought
                    seed_demo_drafts(org, owner)  # a draft of the old system, still a draft here
                    _close_old_months(org, owner)  # last: the books closed up to six months ago
                    _saved_filters(org, owner)
                self.stdout.write("Demo data created.")
            else:
                self.stdout.write("Demo data already present.")
        self.stdout.write(f"Sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")


def _saved_filters(org, owner):
    """Saved filters on the lists (issue 21): one shared with the organization, one the owner's own."""
    from accounts.models import SavedFilter

    filters = (("invoices", "Overdue, largest first", "status=overdue&sort=-amount_due", True),
               ("invoices", "Drafts to issue", "status=draft", False),
               ("customers", "Who owes most", "status=active&sort=-balance", True))
    for list_name, name, query, shared in filters:
        SavedFilter.objects.get_or_create(organization=org, user=owner, list_name=list_name, name=name,
                                          defaults={"query": query, "shared": shared})


def _close_old_months(org, owner):
    """The demo's books are closed up to the end of the month six months ago (accounts.period)."""
    from datetime import timedelta

    from accounts.period import close_period

    first = org.today().replace(day=1)
    for _ in range(5):
        first = (first - timedelta(days=1)).replace(day=1)
    close_period(org, first - timedelta(days=1), actor=owner, reason="Half-year closed (demo)")
